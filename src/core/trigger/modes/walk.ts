/**
 * `walk`: every asset under a container (or the whole library) once, with its path, at the pace the flow
 * acknowledges (../walker.ts). Started by a message (`msg.scope`, `msg.restart`), resumed after a restart.
 */
import { msgBool } from '../../bool';
import type { ResolvedTrigger } from '../config';
import { configKeyOf } from '../poller';
import { messageOf, windowOf, type TriggerDeps, type TriggerRunner } from '../runner';
import { Walker, type WalkScope } from '../walker';

export function walkRunner(cfg: ResolvedTrigger, deps: TriggerDeps): TriggerRunner {
  const { report } = deps;
  // a walk keeps its own position: its window is not saved
  const win = windowOf(cfg, deps);
  const walker = new Walker(
    deps.client,
    deps.store,
    configKeyOf({ mode: 'changed', scopes: cfg.scopes }) + ':walk',
    { window: cfg.window, acknowledge: cfg.acknowledge, include: cfg.include, timeZone: deps.timeZone },
    (item) => {
      const ackId = `${item.walkId}:${item.index}`;
      const event = { type: 'walk', walkId: item.walkId, index: item.index, galleryId: item.galleryId, path: item.asset.path, ackId };
      const msg = { ...messageOf(deps, item.asset, 'walk', event), parts: { id: item.walkId, index: item.index, ...(item.count !== undefined ? { count: item.count } : {}) } };
      if (win) void win.issue([{ key: ackId, item: msg }]);
      else report.send(msg);
    },
    (p) => report.walkProgress(p),
    (e) => report.walkFailed(e),
  );
  return {
    start: () => {
      report.walkIdle();
      walker.resume().then(
        (resumed) => resumed && report.walkResumed(),
        (e: unknown) => report.walkFailed(e),
      );
    },
    input: async (msg) => {
      const ev = msg.event;
      if (ev && typeof ev.walkId === 'string' && typeof ev.index === 'number') {
        walker.ack(ev.walkId, ev.index);
        win?.ack(`${ev.walkId}:${ev.index}`);
        return;
      }
      const target = typeof msg.scope === 'string' && msg.scope ? msg.scope : cfg.scopes[0]?.id;
      const scope: WalkScope = !target ? { kind: 'library' } : { kind: target.startsWith('G') ? 'gallery' : 'collection', id: target };
      await walker.start(scope, msgBool(msg.restart, 'msg.restart') ?? false);
    },
    stop: () => walker.stop().then(() => win?.stop()),
  };
}
