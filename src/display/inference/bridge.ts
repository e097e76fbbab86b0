/**
 * Owns the inference worker's life (squoosh style): started on first use, one AbortSignal per call
 * (an abort terminates the worker, the next call starts a fresh one), large buffers transferred.
 */
import * as Comlink from 'comlink';
import type { ClassifyRequest, InferenceApi, InferenceConfig, LoadedModel } from '../../../workers/inference.worker.ts';

let worker: Worker | null = null;
let api: Comlink.Remote<InferenceApi> | null = null;
let configured: InferenceConfig | null = null;
/** Models the running worker holds: a repeat load answers at once, so classification starts before the page's other work. */
const loaded = new Map<string, Promise<LoadedModel>>();

function start(): Comlink.Remote<InferenceApi> {
  if (!api) {
    worker = new Worker(new URL('../../../workers/inference.worker.ts', import.meta.url), { type: 'module' });
    api = Comlink.wrap<InferenceApi>(worker);
    if (configured) void api.init(configured);
  }
  return api;
}

/** Stops the worker (and every model in it); the next call starts it again. */
export function stop(): void {
  if (api) api[Comlink.releaseProxy]();
  worker?.terminate();
  worker = null;
  api = null;
  loaded.clear();
}

async function call<T>(signal: AbortSignal | undefined, f: (w: Comlink.Remote<InferenceApi>) => Promise<T>): Promise<T> {
  signal?.throwIfAborted();
  const w = start();
  if (!signal) return f(w);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      stop();
      reject(signal.reason ?? new DOMException('Aborted', 'AbortError'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    f(w).then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export async function configure(c: InferenceConfig): Promise<void> {
  // A changed backend or thread count needs fresh ORT state: restart the worker.
  if (configured && (configured.backend !== c.backend || configured.threads !== c.threads)) stop();
  configured = c;
  await start().init(c);
}

export const listModels = (signal?: AbortSignal) => call(signal, (w) => w.listModels());
/** Loads (verifies) a model once per worker; later calls resolve to it with no load time or probe. */
export async function loadModel(id: string, signal?: AbortSignal): Promise<LoadedModel> {
  const known = loaded.get(id);
  if (known) return { ...(await known), loadMs: 0, probe: undefined };
  const first = call(signal, (w) => w.loadModel(id));
  loaded.set(id, first);
  first.catch(() => loaded.delete(id));
  return first;
}

export function unloadModel(id: string): Promise<void> {
  loaded.delete(id);
  return call(undefined, (w) => w.unloadModel(id));
}
export const loseDevice = () => call(undefined, (w) => w.loseDevice());
export const quantumDetails = (...args: Parameters<InferenceApi['quantumDetails']>) => call(undefined, (w) => w.quantumDetails(...args));

/** Classifies a copy of the volume (the page keeps its own for display). */
export const classify = (req: ClassifyRequest, signal?: AbortSignal) => call(signal, (w) => w.classify(req));
