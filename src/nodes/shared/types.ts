import type { Node } from 'node-red';
import type { PhotoShelterClient } from '../../photoshelter';
import type { AccountCredentials } from '../../core/account';

/** What nodes see of a photoshelter-account config node. */
export interface AccountNode extends Node<AccountCredentials> {
  /** The shared client; throws the configuration error when the account is misconfigured. */
  getClient(): PhotoShelterClient;
  timeZone: string;
  /** A digest of how it signs in, to tell whether an edit dialog holds the deployed settings. */
  settingsKey?: string;
}
