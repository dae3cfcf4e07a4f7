/**
 * `changed`: every asset created or modified (metadata or file) in the scopes, once per modification.
 */
import type { PollMode } from './mode';

export const changed: PollMode = {
  name: 'changed',
  check: () => undefined,
  poll: (run) =>
    run.scanChanges(false, (asset, scope, sinceMs) => {
      const k = `${asset.id}@${asset.metadataKey}`;
      if (run.emitted.has(k)) return;
      run.emitted.add(k);
      const created = asset.createdAt ? Date.parse(asset.createdAt) >= sinceMs : false;
      const topic = created ? 'created' : 'updated';
      run.events.push({ topic, asset, event: { type: topic, at: asset.modifiedAt, detectedAt: run.detectedAt, scope } });
    }),
};
