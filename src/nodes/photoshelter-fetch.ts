/**
 * photoshelter-fetch: reads one asset (metadata parts on demand) and its file as a stream, a buffer, a
 * temporary file or a link, on the incoming message. The file modes live in src/core/fetch/; a stream is
 * a body that downloads when it is read (src/core/fetch/lazy.ts), so a delivery that finds the file
 * delivered already downloads nothing.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { loadAsset } from '../core/load';
import { assetOf } from '../core/message';
import { expectedFile, linkSize, renditionText } from '../core/rendition';
import { WorkLimiter } from '../core/limit';
import { fetchSettings, type FetchConfig, type FetchSettings } from '../core/fetch/settings';
import { fileInfo, readCapped, sweepStaleTempDirs, writeTempFile, type FileInfo } from '../core/fetch/files';
import { LazyBody } from '../core/fetch/lazy';
import { TempFileRegistry, type MessageHooks } from '../core/fetch/temp-files';
import { accountOf } from './shared/account';
import { describeError } from './shared/errors';
import { inputNode } from './shared/lifecycle';
import { status } from './shared/status';

type FetchDef = NodeDef & FetchConfig & { account?: string; idProp?: string; idPropType?: string };
type Msg = NodeMessageInFlow & { asset?: unknown; file?: FileInfo };

const NS = 'photoshelter-fetch';

export = function register(RED: NodeAPI): void {
  function FetchNode(this: Node, def: FetchDef) {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: FetchDef): void {
    let settings: FetchSettings | undefined;
    let limiter: WorkLimiter | undefined;
    let configError: unknown;
    try {
      settings = fetchSettings(def);
      limiter = new WorkLimiter(settings.concurrency, settings.queue);
    } catch (e) {
      configError = e;
    }

    // Temporary files go when their message is done (followed through the message hooks; the published
    // typings of RED.hooks only know unlabelled names) or after the time limit.
    const temp = new TempFileRegistry({
      ttlMs: settings?.tempTtlMs,
      hooks: (RED as unknown as { hooks?: MessageHooks }).hooks,
      hookLabel: `psfetch_${node.id.replace(/[^A-Za-z0-9_-]/g, '_')}`,
      onError: (e) => node.warn(RED._('photoshelter-fetch.errors.cleanup', { detail: describeError(e) })),
    });

    /** The id candidates of the node's id setting (by default msg.asset.id, then msg.payload). */
    function idCandidates(msg: Msg): Promise<unknown[]> {
      const prop = def.idProp || 'asset.id';
      const type = def.idPropType || 'msg';
      const byDefault = type === 'msg' && prop === 'asset.id';
      return new Promise((resolve, reject) => {
        // a msg path through a missing object (msg.asset undefined) is simply not set
        const found = (err: unknown, value?: unknown): void =>
          err && type !== 'msg' ? reject(err) : resolve(byDefault ? [err ? undefined : value, msg.payload] : [err ? undefined : value]);
        try {
          RED.util.evaluateNodeProperty(prop, type, node, msg, found);
        } catch (e) {
          found(e);
        }
      });
    }

    async function fetchInto(msg: Msg, s: FetchSettings, signal: AbortSignal): Promise<void> {
      const ids = await idCandidates(msg);
      const account = accountOf(RED, def.account, NS, msg);
      const client = account.getClient();
      // mode none reads the asset anew; a stream names its file from the asset (the download waits for a reader)
      const needs = s.mode === 'none' ? { fresh: true } : { complete: s.mode === 'stream', parts: s.include };
      const load = (id: string) => loadAsset(client, id, { include: s.include, timeZone: account.timeZone, signal });
      const asset = await assetOf(msg, needs, load, ids);
      const id = String(asset.id);
      if (s.mode === 'link') {
        msg.payload = (await client.getLink(id, { imageSize: linkSize(s), imageMode: 'fit', signal })).attributes.link;
      } else if (s.mode === 'stream') {
        // a download of its own for each reader, ended when the flow stops
        const open = async (sig: AbortSignal) => {
          const linked = life.link(sig);
          try {
            const stream = await client.download(id, { fileType: s.fileType, quality: s.quality, signal: linked.signal });
            stream.once('close', linked.release);
            return stream;
          } catch (e) {
            linked.release();
            throw e;
          }
        };
        const warn = (e: unknown) => life.lifetime.aborted || node.warn(RED._('photoshelter-fetch.errors.streamFailed', { id, detail: describeError(e) }));
        msg.payload = new LazyBody(open, s.fileType, warn);
        msg.file = { ...expectedFile(asset, s) };
      } else if (s.mode !== 'none') {
        const stream = await client.download(id, { fileType: s.fileType, quality: s.quality, signal });
        msg.file = fileInfo(stream);
        if (s.mode === 'buffer') {
          msg.payload = await readCapped(stream, s.maxBytes, signal);
        } else {
          const file = await writeTempFile(stream, { fallbackName: id, signal });
          msg.payload = file.path;
          msg.file.path = file.path;
          temp.track(msg._msgid ?? `${node.id}:${file.path}`, file, node.id);
        }
      }
    }

    const life = inputNode<Msg>(RED, node, {
      ns: NS,
      configError,
      busy: 'working',
      handle: async (msg, signal) => {
        const s = settings as FetchSettings;
        // at most `concurrency` fetches at once; a full queue refuses the msg at once (a catchable error)
        const release = await (limiter as WorkLimiter).acquire(signal);
        try {
          await fetchInto(msg, s, signal);
        } finally {
          release();
        }
        return { send: msg, status: status.ok(RED._(`photoshelter-fetch.status.${s.mode}`, { rendition: renditionText(s) })) };
      },
      close: () => temp.close(),
    });
  }

  RED.nodes.registerType('photoshelter-fetch', FetchNode);

  // temporary files of fetches that a crash left behind go when the runtime starts
  sweepStaleTempDirs().then(
    (n) => n > 0 && RED.log.info(RED._('photoshelter-fetch.log.swept', { count: n })),
    () => undefined,
  );
};
