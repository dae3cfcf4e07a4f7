/**
 * The life of a node with an input, one way for every PhotoShelter node that works on messages (fetch,
 * deliver, rights, update):
 *
 * - a status left from before a restart or redeploy is cleared when the node starts (its cause may be
 *   fixed); a configuration error is shown in red, logged once, and refuses every message;
 * - each message runs with an AbortSignal of its own; a blue status says the node is busy, and the result's
 *   status is shown when the last message in flight has finished (an error at once);
 * - errors are worded from the node's catalogue (see `translate`) and reach Catch nodes with the message
 *   through `done(err)`; errors no Catch node takes are logged as one line;
 * - on close, the work in flight is aborted and waited for (its errors reported as "aborted"), then the
 *   node's own clean-up runs, then Node-RED is told the node is closed.
 */
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow, NodeStatus } from 'node-red';
import { CoreError } from '../../core/errors';
import { clientProblem, describeError, logErrorsAsLines, shortError, type CodedError } from './errors';
import { status } from './status';

/** The keys under `errors.` that a node using inputNode() needs in its catalogue (besides its own). */
export const LIFECYCLE_KEYS = ['aborted', 'failed'];

/** What handling one message came to: what to send (nothing: undefined), an error to report with it, a status. */
export interface Outcome {
  send?: NodeMessage | Array<NodeMessage | null>;
  error?: unknown;
  status?: NodeStatus;
}

export interface InputNodeSpec<M extends NodeMessageInFlow> {
  /** The node type: its catalogue namespace. */
  ns: string;
  /** A configuration error found when the node was made: every message is refused with it. */
  configError?: unknown;
  /** Log the configuration error inside the catalogue's `errors.config` (which says the node does not run). */
  configNote?: boolean;
  /** The catalogue key (under `status.`) shown while messages are in flight; none: no busy status. */
  busy?: string;
  /** Handles one message; `signal` aborts when the node closes. */
  handle(msg: M, signal: AbortSignal): Promise<Outcome>;
  /** A node's own wording of some errors (before the common rules); undefined: the common rules. */
  translate?(e: unknown): CodedError | undefined;
  /** Show every message's status (a running count), not only the status of the last one in flight. */
  everyStatus?: boolean;
  /** Runs on close once the work in flight has settled. */
  close?(): Promise<void> | void;
}

export interface InputNode {
  /** Aborted when the node closes. */
  readonly lifetime: AbortSignal;
  /**
   * A signal for work that outlives a message (a download handed on): it aborts when `signal` does or the
   * node closes; `release` when the work is over.
   */
  link(signal?: AbortSignal): { signal: AbortSignal; release(): void };
  /** Messages in flight. */
  busy(): number;
  /** Any failure as an Error with the catalogue's text, the code of its cause and whether to try again. */
  translate(e: unknown): CodedError;
  /** The catalogue text of `key` (under `errors.`), as an Error with a code. */
  fail(key: string, values?: Record<string, string | number>, code?: string): CodedError;
  /** An error whose message the node has worded itself from its catalogue: passed on as it is. */
  worded(text: string, code?: string): CodedError;
  /** The catalogue text of `key` (under the node's namespace) that takes no values: read once, then kept. */
  text(key: string): string;
}

/** Sets up the node's input and close handlers as described above. */
export function inputNode<M extends NodeMessageInFlow>(RED: NodeAPI, node: Node, spec: InputNodeSpec<M>): InputNode {
  const { ns } = spec;
  const life = new AbortController();
  const running = new Set<Promise<void>>();
  /** The work in flight, aborted on close (one controller each: no listener piles up on a shared signal). */
  const controllers = new Set<AbortController>();
  function link(signal?: AbortSignal): { signal: AbortSignal; release(): void } {
    const ac = new AbortController();
    if (life.signal.aborted) ac.abort(aborted());
    else controllers.add(ac);
    const follow = (): void => ac.abort(signal?.reason);
    if (signal?.aborted) follow();
    else signal?.addEventListener('abort', follow, { once: true });
    return {
      signal: ac.signal,
      release: () => {
        controllers.delete(ac);
        signal?.removeEventListener('abort', follow);
      },
    };
  }
  let inFlight = 0;

  /** Errors worded already (by this node's catalogue): passed on as they are. */
  const ours = new WeakSet<object>();
  const mark = (e: CodedError): CodedError => (ours.add(e), e);
  const fail = (key: string, values: Record<string, string | number> = {}, code?: string): CodedError =>
    mark(Object.assign(new Error(RED._(`${ns}.errors.${key}`, values)), { code }));
  const aborted = (): CodedError => fail('aborted', {}, 'EABORTED');

  function translate(e: unknown): CodedError {
    if (e && typeof e === 'object' && ours.has(e)) return e as CodedError;
    return mark(word(e));
  }

  function word(e: unknown): CodedError {
    // a problem of the settings or the input is what it is, closing or not
    if (e instanceof CoreError && e.key) return Object.assign(fail(e.key, e.values, e.code), e.retryable ? { retryable: true } : {});
    const { code, status: httpStatus } = (e ?? {}) as CodedError;
    if (life.signal.aborted || code === 'EABORTED') return aborted();
    const own = spec.translate?.(e);
    if (own) return own;
    // destination errors say their cause first and name the folder, file or server
    if (e instanceof CoreError) return Object.assign(new Error(e.message), { code: e.code, retryable: e.retryable });
    if (code === undefined && e instanceof Error) return e; // already the catalogue's text (e.g. accountOf)
    return clientProblem(RED, ns, e) ?? Object.assign(fail('failed', { detail: describeError(e) }, code), { status: httpStatus });
  }

  // a text without values is the same for every message: the catalogue is asked once (per node)
  const texts = new Map<string, string>();
  const text = (key: string): string => {
    let t = texts.get(key);
    if (t === undefined) texts.set(key, (t = RED._(`${ns}.${key}`)));
    return t;
  };

  node.status(status.clear());
  logErrorsAsLines(node);
  const configError = spec.configError === undefined ? undefined : translate(spec.configError);
  if (configError) {
    node.error(spec.configNote ? RED._(`${ns}.errors.config`, { detail: configError.message }) : configError.message);
    node.status(status.error(shortError(configError)));
  }

  node.on('input', (input: NodeMessageInFlow, send: (m: NodeMessage | Array<NodeMessage | null>) => void, done: (err?: Error) => void) => {
    const msg = input as M;
    if (configError) return done(configError);
    if (life.signal.aborted) return done(aborted());
    const work = link();
    inFlight++;
    if (spec.busy) node.status(status.working(text(`status.${spec.busy}`)));
    const task = spec
      .handle(msg, work.signal)
      .then(
        (outcome) => {
          inFlight--;
          const err = outcome.error === undefined ? undefined : translate(outcome.error);
          if (outcome.status && (err || inFlight === 0 || spec.everyStatus) && !life.signal.aborted) node.status(outcome.status);
          else if (err && !life.signal.aborted) node.status(status.error(shortError(err)));
          if (outcome.send !== undefined) send(outcome.send);
          done(err);
        },
        (e: unknown) => {
          inFlight--;
          const err = translate(e);
          if (!life.signal.aborted) node.status(status.error(shortError(err)));
          done(err);
        },
      )
      .finally(() => {
        work.release();
        running.delete(task);
      });
    running.add(task);
  });

  node.on('close', (_removed: boolean, done: () => void) => {
    life.abort(aborted());
    for (const ac of controllers) ac.abort(aborted());
    controllers.clear();
    // aborted work settles quickly (and removes what it wrote part of) before the node's own clean-up
    Promise.allSettled([...running])
      .then(() => spec.close?.())
      .then(
        () => done(),
        () => done(),
      );
  });

  const worded = (text: string, code?: string): CodedError => mark(Object.assign(new Error(text), { code }));
  return { lifetime: life.signal, link, busy: () => inFlight, translate, fail, worded, text };
}
