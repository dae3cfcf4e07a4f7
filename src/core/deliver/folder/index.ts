/**
 * The folder destination kind: files under a base folder of this machine (or a share mounted on it).
 */
import { join } from 'node:path';
import { bool, folderOf, text, type DestinationKind } from '../kind';
import { DeliverError } from '../types';
import { checkRelativePath, FolderDestination } from './destination';

export { checkRelativePath, FolderDestination, makeFolders, type FolderOptions } from './destination';

export const folder: DestinationKind = {
  kind: 'folder',
  // a new destination creates no missing base folder (a mistyped one would be made silently); one saved
  // before the choice existed (no createBase) creates it, as it did then
  settings: { template: '', folder: '', createBase: false, fsync: false },
  secrets: {},
  place: (c) => ({ kind: 'folder', folder: folderOf(c.folder) }),
  target: (c) => `folder:${folderOf(c.folder)}`,
  templates: (c) => ({ context: 'path', location: String(c.template ?? ''), removeAtLocation: true, metadata: {} }),
  create: (c) => new FolderDestination({ base: String(c.folder ?? ''), fsync: bool(c.fsync, false, 'fsync'), createBase: bool(c.createBase, true, 'createBase') }),
  preview: {
    settings: ['template', 'folder'],
    resolve: (_c, rendered) => checkRelativePath(rendered),
    where: (c, location) => {
      if (!text(c.folder)) throw new DeliverError('ECONFIG', 'The folder destination has no base folder');
      return join(folderOf(c.folder), location);
    },
  },
};
