/**
 * The location preview of the deliver and destination dialogs: POST /photoshelter/<deliver|destination>/preview
 * with JSON `{id, destination: {kind, template, folder, url, host, port, basePath, bucket, keyPrefix, method},
 * template, account}` renders where a delivery of a sample asset would go. The sample is an asset of the
 * deployed account named (read through its own client, from its own host), else a built-in example. Only
 * those settings are read: no credential is taken, used or sent anywhere; nothing is written.
 *
 * The routes stand behind the admin guards of form.ts (the node type's write permission, the same origin,
 * JSON only). A setting that reads the environment (`${NAME}`) is resolved as form.ts' rules say: only
 * for a deployed node of the route's own type (`id`), and only where that node has the same reference. So
 * the destination preview reads the environment of its deployed destination node; the deliver preview
 * reads none in the destination's settings (they are not a deliver node's), and says so.
 */
import type { Request, Response } from 'express';
import type { NodeAPI } from 'node-red';
import { sampleAsset } from '../../core/account';
import type { Asset } from '../../core/asset';
import { previewLocation, SAMPLE_ASSET } from '../../core/deliver/preview';
import { KINDS } from '../../core/deliver/kinds';
import type { DestinationConfig } from '../../core/deliver/registry';
import { clientProblem, describeError } from './errors';
import { AdminError, adminGuards, answerError, dialogValues, type DialogSpec } from './form';
import type { AccountNode } from './types';

/** The destination settings a preview uses (each kind names its own); none of them is a secret. */
const SETTINGS = ['kind', ...new Set(KINDS.flatMap((k) => k.preview.settings))];
const SAMPLE_TTL_MS = 5 * 60_000;

/**
 * The keys a node type registering the preview needs in its catalogue: under `preview.` (the editor uses
 * label, loading, notNow) and under `admin.` (the guards' refusals, and form.ts' rules for environment
 * references).
 */
export function previewKeys(type: string): string[] {
  const preview = ['label', 'loading', 'notNow', 'fromAccount', 'fromExample', 'emptyLibrary', ...(type === 'photoshelter-deliver' ? ['envNotShown'] : [])];
  const admin = ['jsonOnly', 'crossOrigin', 'foreignId', 'envNotDeployed', 'envChanged'];
  return [...preview.map((k) => `preview.${k}`), ...admin.map((k) => `admin.${k}`)];
}
/** A whole-value environment reference, as form.ts reads it. */
const ENV_REF = /^\$\{(\S+)\}$|^\$\((\S+)\)$/;

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

  // a preview lends nothing and sends nothing anywhere: no credential and no place to compare
  const SPEC: DialogSpec = { type, credentialKeys: [], label: (key) => RED._(`${type}.label.${key}`), identity: () => ({}) };

  /** The destination settings (and, for the deliver preview, its own template), environment read as allowed. */
  function settingsOf(body: { id?: unknown; destination?: unknown; template?: unknown }): { config: DestinationConfig; template?: string; scrub: (t: string) => string } {
    const given = body.destination && typeof body.destination === 'object' && !Array.isArray(body.destination) ? (body.destination as Record<string, unknown>) : {};
    const settings: Record<string, unknown> = {};
    for (const key of SETTINGS) if (given[key] !== undefined && given[key] !== null) settings[key] = String(given[key]);
    if (type === 'photoshelter-destination') {
      const dialog = dialogValues<DestinationConfig, object>(RED, SPEC, { id: body.id, config: settings });
      return { config: dialog.config, scrub: dialog.scrub };
    }
    // the destination's settings are not a deliver node's: an environment reference there is not read
    const env = SETTINGS.find((key) => typeof settings[key] === 'string' && ENV_REF.test((settings[key] as string).trim()));
    if (env) throw new AdminError(400, 'envNotShown', { field: env }, env);
    const own = typeof body.template === 'string' ? body.template : undefined;
    const dialog = dialogValues<{ template?: unknown }, object>(RED, SPEC, { id: body.id, config: own === undefined ? {} : { template: own } });
    return { config: settings as DestinationConfig, template: typeof dialog.config.template === 'string' ? dialog.config.template : undefined, scrub: dialog.scrub };
  }

  const path = type === 'photoshelter-deliver' ? '/photoshelter/deliver/preview' : '/photoshelter/destination/preview';
  RED.httpAdmin.post(path, ...adminGuards(RED, type), async (req: Request, res: Response) => {
    const body = (req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? req.body : {}) as { id?: unknown; destination?: unknown; template?: unknown; account?: unknown };
    let scrub = (text: string) => text;
    let config: DestinationConfig;
    let template: string | undefined;
    try {
      ({ config, template, scrub } = settingsOf(body));
    } catch (e) {
      // an environment value the preview may not read is an answer of the preview (as a broken template is),
      // shown in the dialog; a request it refuses (a node of another type) is not
      if (e instanceof AdminError && e.status === 400) {
        const text = e.key === 'envNotShown' ? t('envNotShown', e.values) : RED._(`${type}.admin.${e.key}`, e.values);
        res.json({ ok: false, code: 'ECONFIG', field: e.field, error: scrub(text) });
        return;
      }
      return answerError(RED, type, res, e, scrub, describeError);
    }
    const sample = await sampleOf(body.account);
    const about = {
      id: sample.asset.id,
      fileName: sample.asset.fileName,
      note: sample.fromAccount ? t('fromAccount', { fileName: sample.asset.fileName, id: sample.asset.id }) : t('fromExample', { problem: sample.problem ? ` (${sample.problem})` : '' }),
    };
    try {
      const preview = await previewLocation(config, template, sample.asset);
      res.json({ ok: true, ...preview, sample: about });
    } catch (e) {
      res.json({ ok: false, error: scrub(describeError(e)), code: (e as { code?: string }).code, sample: about });
    }
  });
}
