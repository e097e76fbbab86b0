/**
 * The life of one comlink worker (squoosh style): started on first use, one AbortSignal per call
 * (an abort terminates the worker; the next call starts a fresh one). Each caller passes its own
 * `new Worker(new URL(…, import.meta.url))` factory so Vite still bundles the worker.
 */
import * as Comlink from 'comlink';

export interface WorkerBridge<T> {
  /** The running worker's API, starting the worker if needed. */
  start(): Comlink.Remote<T>;
  /** Terminates the worker; the next call starts it again. */
  stop(): void;
  /** Runs `f` on the worker; an abort of `signal` stops the worker and rejects. */
  call<R>(signal: AbortSignal | undefined, f: (api: Comlink.Remote<T>) => Promise<R>): Promise<R>;
}

export function workerBridge<T>(
  create: () => Worker,
  hooks: { onStart?(api: Comlink.Remote<T>): void; onStop?(): void } = {},
): WorkerBridge<T> {
  let worker: Worker | null = null;
  let api: Comlink.Remote<T> | null = null;

  function start(): Comlink.Remote<T> {
    if (!api) {
      worker = create();
      api = Comlink.wrap<T>(worker);
      hooks.onStart?.(api);
    }
    return api;
  }

  function stop(): void {
    if (api) api[Comlink.releaseProxy]();
    worker?.terminate();
    worker = null;
    api = null;
    hooks.onStop?.();
  }

  function call<R>(signal: AbortSignal | undefined, f: (api: Comlink.Remote<T>) => Promise<R>): Promise<R> {
    signal?.throwIfAborted();
    const w = start();
    if (!signal) return f(w);
    return new Promise<R>((resolve, reject) => {
      const onAbort = () => {
        stop();
        reject(signal.reason ?? new DOMException('Aborted', 'AbortError'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      f(w)
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  return { start, stop, call };
}
