/**
 * The location preview of the deliver and destination dialogs: POST /photoshelter/<deliver|destination>/preview
 * with JSON `{destination: {kind, template, folder, url, host, port, basePath, bucket, keyPrefix, method},
 * template, account}` renders where a delivery of a sample asset would go. The sample is an asset of the
 * deployed account named (read through its own client, from its own host), else a built-in example. Only
 * those settings are read: no credential is taken, used or sent anywhere; nothing is written.
 */
import type { Request, Response } from 'express';
import type { NodeAPI } from 'node-red';
import { sampleAsset } from '../../core/account';
import type { Asset } from '../../core/asset';
import { previewLocation, SAMPLE_ASSET } from '../../core/deliver/preview';
import type { DestinationConfig } from '../../core/deliver/registry';
import { clientProblem, describeError } from './errors';
import { envValue } from './form';
import type { AccountNode } from './types';

/** The destination settings a preview uses; none of them is a secret. */
const SETTINGS = ['kind', 'template', 'folder', 'url', 'method', 'host', 'port', 'basePath', 'bucket', 'keyPrefix'] as const;
const SAMPLE_TTL_MS = 5 * 60_000;

/** The keys under `preview.` that a node registering the preview needs in its catalogue (the editor uses label, loading, notNow). */
export const PREVIEW_KEYS = ['label', 'loading', 'notNow', 'fromAccount', 'fromExample', 'emptyLibrary', 'jsonOnly'];

interface Sample {
  asset: Asset;
  /** Read from the account, or the built-in example (with why, when the account could not give one). */
  fromAccount: boolean;
  problem?: string;
}

export function registerPreview(RED: NodeAPI, type: 'photoshelter-deliver' | 'photoshelter-destination'): void {
  // each node module has its own catalogue: both hold the preview's texts
  const t = (key: string, values?: Record<string, string>) => RED._(`${type}.preview.${key}`, values);
  const samples = new Map<string, { at: number; sample: Promise<Sample> }>();

  function sampleOf(accountId: unknown): Promise<Sample> {
    const account = typeof accountId === 'string' && accountId ? (RED.nodes.getNode(accountId) as AccountNode | null) : null;
    if (!account || account.type !== 'photoshelter-account' || typeof account.getClient !== 'function') return Promise.resolve({ asset: SAMPLE_ASSET, fromAccount: false });
    const cached = samples.get(account.id);
    if (cached && Date.now() - cached.at < SAMPLE_TTL_MS) return cached.sample;
    const sample = (async (): Promise<Sample> => {
      try {
        const asset = await sampleAsset(account.getClient(), account.timeZone, AbortSignal.timeout(20_000));
        return asset ? { asset, fromAccount: true } : { asset: SAMPLE_ASSET, fromAccount: false, problem: t('emptyLibrary') };
      } catch (e) {
        samples.delete(account.id);
        return { asset: SAMPLE_ASSET, fromAccount: false, problem: (clientProblem(RED, type, e) ?? new Error(describeError(e))).message };
      }
    })();
    samples.set(account.id, { at: Date.now(), sample });
    return sample;
  }

  const path = type === 'photoshelter-deliver' ? '/photoshelter/deliver/preview' : '/photoshelter/destination/preview';
  RED.httpAdmin.post(path, RED.auth.needsPermission(`${type}.write`), async (req: Request, res: Response) => {
    if (!req.is('application/json')) {
      res.status(415).json({ ok: false, error: t('jsonOnly') });
      return;
    }
    const body = (req.body ?? {}) as { destination?: Record<string, unknown>; template?: unknown; account?: unknown };
    const given = body.destination && typeof body.destination === 'object' ? body.destination : {};
    const config: DestinationConfig = {};
    for (const key of SETTINGS) if (given[key] !== undefined && given[key] !== null) (config as Record<string, unknown>)[key] = envValue(String(given[key]));
    const sample = await sampleOf(body.account);
    const about = {
      id: sample.asset.id,
      fileName: sample.asset.fileName,
      note: sample.fromAccount ? t('fromAccount', { fileName: sample.asset.fileName, id: sample.asset.id }) : t('fromExample', { problem: sample.problem ? ` (${sample.problem})` : '' }),
    };
    try {
      const preview = await previewLocation(config, typeof body.template === 'string' ? body.template : undefined, sample.asset);
      res.json({ ok: true, ...preview, sample: about });
    } catch (e) {
      res.json({ ok: false, error: describeError(e), code: (e as { code?: string }).code, sample: about });
    }
  });
}
