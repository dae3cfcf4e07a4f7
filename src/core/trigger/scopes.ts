/**
 * The galleries and collections a trigger watches, checked before its first poll: PhotoShelter answers a
 * search in a gallery that does not exist (a mistyped id, a deleted gallery, one of another organization)
 * with an empty list, so without this check such a trigger would poll forever and report nothing. A scope
 * PhotoShelter does not know, or does not let this account read, is an error that names it and says what
 * to do; the poll fails (and is tried again later: a gallery may be created or shared meanwhile).
 */
import { PhotoShelterError, type PhotoShelterClient } from '../../photoshelter';
import { CoreError } from '../errors';
import type { ContainerScope } from './poller';

export type ScopeClient = Pick<PhotoShelterClient, 'gallery' | 'collection'>;

/** A watched gallery or collection that PhotoShelter does not show this account. */
export class ScopeMissingError extends CoreError {
  constructor(
    readonly scope: ContainerScope,
    cause: PhotoShelterError,
  ) {
    const denied = cause.code === 'EPERM';
    const what = scope.kind === 'gallery' ? 'gallery' : 'collection';
    super(
      'ENOSCOPE',
      `The ${what} ${scope.id} ${denied ? 'may not be read with this account' : 'does not exist in this PhotoShelter library'}: check the trigger's scope (a mistyped or deleted ${what}, or one of another organization). The trigger watches nothing there until it is fixed`,
      { key: denied ? `scopeDenied` : `scopeMissing`, values: { kind: what, id: scope.id }, cause },
    );
  }
}

/** Throws a ScopeMissingError for the first scope PhotoShelter does not know (404) or refuses (403). */
export async function checkScopes(client: ScopeClient, scopes: readonly ContainerScope[], signal?: AbortSignal): Promise<void> {
  for (const scope of scopes) {
    try {
      if (scope.kind === 'gallery') await client.gallery(scope.id, { signal });
      else await client.collection(scope.id, { signal });
    } catch (e) {
      if (e instanceof PhotoShelterError && (e.code === 'ENOTFOUND' || e.code === 'EPERM')) throw new ScopeMissingError(scope, e);
      throw e;
    }
  }
}
