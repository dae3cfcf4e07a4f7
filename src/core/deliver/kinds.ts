/**
 * The destination kinds, one line each. A new kind is a folder under src/core/deliver/ exporting a
 * DestinationKind (see kind.ts), a line here, and its editor text (the rows and catalogue entries of the
 * destination dialog: nodes/photoshelter-destination.html and its locales).
 */
import { folder } from './folder';
import { http } from './http';
import { s3 } from './s3';
import { sftp } from './sftp';
import type { DestinationKind } from './kind';

export const KINDS: readonly DestinationKind[] = [
  folder,
  http,
  sftp,
  s3,
];
