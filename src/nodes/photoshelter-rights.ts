/**
 * photoshelter-rights: may this asset still be used, for this channel and region, at this time — and why
 * not. Four outputs (allowed, expiring soon, expired, restricted). The rules live in src/core/rights.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { loadAsset } from '../core/load';
import { evaluateRights, RIGHTS_OUTPUTS, type RightsReason, type RightsStatus } from '../core/rights/evaluate';
import { assetSource, evaluationTime, useValue } from '../core/rights/input';
import { resolveRights, type RightsConfig, type RightsPolicy } from '../core/rights/policy';
import { accountOf } from './shared/account';
import { inputNode } from './shared/lifecycle';
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

export = function register(RED: NodeAPI): void {
  const t = (key: string, vars?: Record<string, string | number>) => RED._(`${NS}.${key}`, vars);

  function RightsNode(this: Node, def: RightsDef) {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: RightsDef): void {
    const counts: Record<RightsStatus, number> = { allowed: 0, expiring: 0, expired: 0, restricted: 0 };
    let policy: RightsPolicy | undefined;
    let configError: unknown;
    try {
      policy = resolveRights(def);
    } catch (e) {
      configError = e;
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

    inputNode<Msg>(RED, node, {
      ns: NS,
      configError,
      configNote: true,
      everyStatus: true,
      handle: async (msg, signal) => {
        const outcome = await evaluate(msg, policy as RightsPolicy, signal);
        counts[outcome]++;
        return { send: RIGHTS_OUTPUTS.map((o) => (o === outcome ? msg : null)), status: status.ok(t('status.counts', counts)) };
      },
    });
  }

  RED.nodes.registerType(NS, RightsNode);
};
