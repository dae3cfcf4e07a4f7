/**
 * The account's OAuth refresh token across restarts (see core/token-file.ts): the file of an account node,
 * client options that sign in with the latest kept token and keep each new one, and a key that tells
 * whether an edit dialog's settings are those of the deployed account.
 */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';
import type { PhotoShelterClientOptions } from '../../photoshelter';
import { RefreshTokenFile } from '../../core/token-file';

export function refreshTokenFile(RED: NodeAPI, id: string): RefreshTokenFile {
  const userDir = (RED.settings as { userDir?: string }).userDir || join(homedir(), '.node-red');
  return new RefreshTokenFile(join(userDir, 'photoshelter', 'tokens', `${id.replace(/[^A-Za-z0-9_-]/g, '_')}.json`));
}

/** OAuth options that start from the token kept for the configured one and keep every new one; others unchanged. */
export function withKeptRefreshToken(options: PhotoShelterClientOptions, file: RefreshTokenFile, onSaveError: (e: unknown) => void): PhotoShelterClientOptions {
  const auth = options.auth;
  if (auth.mode !== 'oauth' || !auth.refreshToken) return options;
  const configured = auth.refreshToken;
  return {
    ...options,
    auth: {
      ...auth,
      refreshToken: file.current(configured),
      onTokens: async (tokens) => {
        await auth.onTokens?.(tokens);
        if (!tokens.refreshToken) return;
        try {
          await file.save(configured, tokens.refreshToken);
        } catch (e) {
          onSaveError(e);
        }
      },
    },
  };
}

/** A digest of everything that decides how an account signs in (no secret in clear). */
export function settingsKey(options: PhotoShelterClientOptions): string {
  const a = options.auth as unknown as Record<string, unknown>;
  const parts = [options.baseUrl, options.apiKey, a.mode, a.orgId, a.email, a.password, a.clientId, a.clientSecret, a.refreshToken, a.redirectUri, a.token];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
