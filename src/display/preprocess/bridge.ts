/**
 * Owns the preprocessing worker's life: started on first use, one AbortSignal per call (an abort
 * terminates the worker; the next call starts a fresh one), the volume copy transferred in.
 */
import * as Comlink from 'comlink';
import type { PreprocessWorkerApi } from '../../../workers/preprocess.worker.ts';
import type { PreprocessResult, ProgressEvent } from '../../core/preprocess/index.ts';
import type { Volume } from '../../core/volume.ts';

let worker: Worker | null = null;
let api: Comlink.Remote<PreprocessWorkerApi> | null = null;

function start(): Comlink.Remote<PreprocessWorkerApi> {
  if (!api) {
    worker = new Worker(new URL('../../../workers/preprocess.worker.ts', import.meta.url), { type: 'module' });
    api = Comlink.wrap<PreprocessWorkerApi>(worker);
  }
  return api;
}

export function stop(): void {
  if (api) api[Comlink.releaseProxy]();
  worker?.terminate();
  worker = null;
  api = null;
}

/** Preprocesses a copy of the volume (the page keeps its own for display). */
export function preprocessInWorker(volume: Volume, spec: unknown, onProgress: (e: ProgressEvent) => void, signal?: AbortSignal): Promise<PreprocessResult> {
  signal?.throwIfAborted();
  const w = start();
  const copy: Volume = { ...volume, data: volume.data.slice() };
  const job = w.preprocessVolume(Comlink.transfer(copy, [copy.data.buffer]), spec, Comlink.proxy(onProgress));
  if (!signal) return job;
  return new Promise<PreprocessResult>((resolve, reject) => {
    const onAbort = () => {
      stop();
      reject(signal.reason ?? new DOMException('Aborted', 'AbortError'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    job.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
