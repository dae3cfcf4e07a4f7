/**
 * photoshelter-fetch: reads one asset (metadata parts on demand) and its file as a stream, a buffer, a
 * temporary file or a link, on the incoming message. The file-mode logic lives in src/core/fetch.ts.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { loadAsset } from '../core/load';
import { BooleanSettingError } from '../core/bool';
import { FetchInputError, FileTooLargeError, QueueFullError, TempFileRegistry, WorkLimiter, fetchSettings, fileInfo, idOf, pickMediaId, sweepStaleTempDirs } from '../core/fetch';
import { linkSize, readCapped, renditionText, writeTempFile, type FetchConfig, type FetchSettings, type FileInfo, type MessageHooks } from '../core/fetch';
import { accountOf } from './shared/account';
import { clientProblem, describeError, logErrorsAsLines, shortError } from './shared/errors';
import { status } from './shared/status';

type FetchDef = NodeDef & FetchConfig & { account?: string; idProp?: string; idPropType?: string };
type Msg = NodeMessageInFlow & { asset?: unknown; file?: FileInfo };
type Send = (msg: NodeMessage) => void;
type CodedError = Error & { code?: string; status?: number };

const NS = 'photoshelter-fetch';

export = function register(RED: NodeAPI): void {
  function FetchNode(this: Node, def: FetchDef) {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: FetchDef): void {
    const controllers = new Set<AbortController>();
    const running = new Set<Promise<void>>();
    let settings: FetchSettings | undefined;
    let configError: CodedError | undefined;
    let busy = 0;
    let closing = false;

    const fail = (key: string, values: Record<string, string | number>, code?: string, httpStatus?: number): CodedError =>
      Object.assign(new Error(RED._(`photoshelter-fetch.errors.${key}`, values)), { code, status: httpStatus });
    const mb = (n: number): string => (n / 1024 / 1024).toFixed(1);
    function localize(e: unknown): CodedError {
      if (e instanceof FetchInputError) return fail(e.key, e.values, e.code);
      if (e instanceof FileTooLargeError) return fail(e.announced ? 'tooLarge' : 'tooLargeRead', { size: mb(e.sizeBytes), limit: mb(e.limitBytes) }, e.code);
      if (e instanceof QueueFullError) return fail('queueFull', { running: e.running, waiting: e.waiting }, e.code);
      if (e instanceof BooleanSettingError) return fail('badBoolean', { setting: e.setting, value: e.value }, e.code);
      const { code, status: s } = (e ?? {}) as CodedError;
      if (code === undefined && e instanceof Error) return e; // accountOf() texts are already from the catalogue
      if (closing) return fail('aborted', {}, 'EABORTED');
      return clientProblem(RED, NS, e) ?? fail('failed', { detail: describeError(e) }, code, s);
    }

    // a status left from before a restart or redeploy goes: its cause may be fixed
    node.status(status.clear());
    logErrorsAsLines(node);
    let limiter: WorkLimiter | undefined;
    try {
      settings = fetchSettings(def);
      limiter = new WorkLimiter(settings.concurrency, settings.queue);
    } catch (e) {
      configError = localize(e);
      node.error(configError.message);
      node.status(status.error(shortError(configError)));
    }

    // Temporary files go when their message is done (followed through the message hooks; the published
    // typings of RED.hooks only know unlabelled names) or after the time limit.
    const temp = new TempFileRegistry({
      ttlMs: settings?.tempTtlMs,
      hooks: (RED as unknown as { hooks?: MessageHooks }).hooks,
      hookLabel: `psfetch_${node.id.replace(/[^A-Za-z0-9_-]/g, '_')}`,
      onError: (e) => node.warn(RED._('photoshelter-fetch.errors.cleanup', { detail: describeError(e) })),
    });

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

    /** Fills msg; true when a download stream was handed on (its controller lives until it closes). */
    async function fetchInto(msg: Msg, s: FetchSettings, signal: AbortSignal, ac: AbortController): Promise<boolean> {
      const id = pickMediaId(await idCandidates(msg));
      const account = accountOf(RED, def.account, NS, msg);
      const client = account.getClient();
      if (s.include.length > 0 || s.mode === 'none' || idOf(msg.asset) !== id) {
        msg.asset = await loadAsset(client, id, { include: s.include, timeZone: account.timeZone, signal });
      }
      if (s.mode === 'link') {
        msg.payload = (await client.getLink(id, { imageSize: linkSize(s), imageMode: 'fit', signal })).attributes.link;
      } else if (s.mode !== 'none') {
        const stream = await client.download(id, { fileType: s.fileType, quality: s.quality, signal });
        msg.file = fileInfo(stream);
        if (s.mode === 'stream') {
          // the download lives on in the next node; close() still aborts it
          stream.once('close', () => controllers.delete(ac));
          stream.on('error', (e) => {
            if (!closing && stream.listenerCount('error') === 1) node.warn(RED._('photoshelter-fetch.errors.streamFailed', { id, detail: describeError(e) }));
          });
          msg.payload = stream;
          return true;
        } else if (s.mode === 'buffer') {
          msg.payload = await readCapped(stream, s.maxBytes, signal);
        } else {
          const file = await writeTempFile(stream, { fallbackName: id, signal });
          msg.payload = file.path;
          msg.file.path = file.path;
          temp.track(msg._msgid ?? `${node.id}:${file.path}`, file, node.id);
        }
      }
      return false;
    }

    node.on('input', (msg: Msg, send: Send, done: (err?: Error) => void) => {
      if (!settings || !limiter) return done(configError);
      const s = settings;
      const slots = limiter;
      const ac = new AbortController();
      controllers.add(ac);
      busy++;
      node.status(status.working(RED._('photoshelter-fetch.status.working')));
      // at most `concurrency` fetches at once; a full queue refuses the msg at once (a catchable error)
      const task = slots
        .acquire(ac.signal)
        .then((release) => fetchInto(msg, s, ac.signal, ac).finally(release))
        .then(
          (handedOn) => {
            if (!handedOn) controllers.delete(ac);
            busy--;
            if (busy === 0) node.status(status.ok(RED._(`photoshelter-fetch.status.${s.mode}`, { rendition: renditionText(s) })));
            send(msg);
            done();
          },
          (e: unknown) => {
            controllers.delete(ac);
            busy--;
            const err = localize(e);
            if (!closing) node.status(status.error(shortError(err)));
            done(err);
          },
        )
        .finally(() => running.delete(task));
      running.add(task);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      for (const ac of controllers) ac.abort(fail('aborted', {}, 'EABORTED'));
      controllers.clear();
      limiter?.clear(fail('aborted', {}, 'EABORTED'));
      // aborted work settles quickly (and removes its partial files) before the files are swept
      Promise.allSettled([...running])
        .then(() => temp.close())
        .then(done, done);
    });
  }

  RED.nodes.registerType('photoshelter-fetch', FetchNode);

  // temporary files of fetches that a crash left behind go when the runtime starts
  sweepStaleTempDirs().then(
    (n) => n > 0 && RED.log.info(RED._('photoshelter-fetch.log.swept', { count: n })),
    () => undefined,
  );
};
