/**
 * photoshelter-rights: may this asset still be used, for this channel and region, at this time — and why
 * not. Four outputs (allowed, expiring soon, expired, restricted). The rules live in src/core/rights.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { loadAsset } from '../core/load';
import { evaluateRights, RIGHTS_OUTPUTS, type RightsReason, type RightsStatus } from '../core/rights/evaluate';
import { assetSource, evaluationTime, RightsInputError, useValue } from '../core/rights/input';
import { resolveRights, RightsConfigError, type RightsConfig, type RightsPolicy } from '../core/rights/policy';
import { accountOf } from './shared/account';
import { clientProblem, describeError, logErrorsAsLines, shortError } from './shared/errors';
import { status } from './shared/status';

const NS = 'photoshelter-rights';

type RightsDef = NodeDef &
  RightsConfig & {
    account?: string;
    channel?: string;
    channelType?: string;
    region?: string;
    regionType?: string;
    at?: string;
    atType?: string;
  };
type Msg = NodeMessageInFlow & { asset?: unknown; rights?: unknown };
type Send = (msg: Array<NodeMessage | null>) => void;
type CodedError = Error & { code?: string; status?: number };

export = function register(RED: NodeAPI): void {
  const t = (key: string, vars?: Record<string, string | number>) => RED._(`${NS}.${key}`, vars);

  function RightsNode(this: Node, def: RightsDef) {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: RightsDef): void {
    const controllers = new Set<AbortController>();
    const counts: Record<RightsStatus, number> = { allowed: 0, expiring: 0, expired: 0, restricted: 0 };
    let closing = false;

    const localize = (e: unknown): CodedError => {
      if (e instanceof RightsInputError || e instanceof RightsConfigError) {
        return Object.assign(new Error(t(`errors.${e.key}`, e.values)), { code: e.code });
      }
      if (closing) return Object.assign(new Error(t('errors.aborted')), { code: 'EABORTED' });
      const { code, status: s } = (e ?? {}) as CodedError;
      if (code === undefined && e instanceof Error) return e; // already a catalogue text (no account)
      return clientProblem(RED, NS, e) ?? Object.assign(new Error(t('errors.failed', { detail: describeError(e) })), { code, status: s });
    };

    let policy: RightsPolicy | undefined;
    let configError: CodedError | undefined;
    // a status left from before a restart or redeploy goes: its cause may be fixed
    node.status(status.clear());
    logErrorsAsLines(node);
    try {
      policy = resolveRights(def);
    } catch (e) {
      configError = localize(e);
      node.error(t('errors.config', { detail: configError.message }));
      node.status(status.error(shortError(configError)));
    }

    const prop = (value: string | undefined, type: string | undefined, fallbackType: string, msg: Msg): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const ty = type || fallbackType;
        if (ty === 'date') return resolve(Date.now());
        if (!value && (ty === 'msg' || ty === 'flow' || ty === 'global')) return resolve(undefined);
        RED.util.evaluateNodeProperty(value ?? '', ty, node, msg, (err, v) => (err ? reject(err) : resolve(v)));
      });

    // a date-only value is said as written, with its zone ("expired after 2020-01-01 (UTC)")
    const reasonText = (r: RightsReason): string => t(`reason.${r.code}${r.values && 'date' in r.values ? '_DAY' : ''}`, r.values);

    async function evaluate(msg: Msg, p: RightsPolicy, signal: AbortSignal): Promise<RightsStatus> {
      const source = assetSource(msg, p);
      const channel = useValue(await prop(def.channel, def.channelType, 'msg', msg), 'channel');
      const region = useValue(await prop(def.region, def.regionType, 'msg', msg), 'region');
      const account = 'fetchId' in source || !p.timeZone ? accountOf(RED, def.account, NS, msg) : undefined;
      const zone = p.timeZone ?? account?.timeZone ?? 'UTC';
      const at = evaluationTime(await prop(def.at, def.atType, 'date', msg), zone);
      let asset: unknown;
      if ('fetchId' in source) {
        node.status(status.working(t('status.reading')));
        const client = (account ?? accountOf(RED, def.account, NS, msg)).getClient();
        asset = await loadAsset(client, source.fetchId, { include: ['iptc', 'custom'], timeZone: zone, signal });
        msg.asset = asset;
      } else {
        asset = source.asset;
      }
      const result = evaluateRights(asset, p, { at, channel, region, timeZone: zone });
      msg.rights = { ...result, reasons: result.reasons.map((r) => ({ code: r.code, field: r.field, detail: reasonText(r) })) };
      return result.status;
    }

    const showCounts = () => node.status(status.ok(t('status.counts', counts)));

    node.on('input', (msg: Msg, send: Send, done: (err?: Error) => void) => {
      if (!policy) return done(configError);
      if (closing) return done(localize(new Error('closed')));
      const ac = new AbortController();
      controllers.add(ac);
      evaluate(msg, policy, ac.signal).then(
        (outcome) => {
          controllers.delete(ac);
          counts[outcome]++;
          showCounts();
          send(RIGHTS_OUTPUTS.map((o) => (o === outcome ? msg : null)));
          done();
        },
        (e: unknown) => {
          controllers.delete(ac);
          const err = localize(e);
          if (!closing) node.status(status.error(shortError(err)));
          done(err);
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      for (const ac of controllers) ac.abort(Object.assign(new Error(t('errors.aborted')), { code: 'EABORTED' }));
      controllers.clear();
      done();
    });
  }

  RED.nodes.registerType(NS, RightsNode);
};
