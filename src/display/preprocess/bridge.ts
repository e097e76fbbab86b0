/** The preprocessing worker's bridge: the volume copy is transferred in, progress proxied back. */
import * as Comlink from 'comlink';
import type { PreprocessWorkerApi } from '../../core/protocol.ts';
import type { PreprocessResult, ProgressEvent } from '../../core/preprocess/index.ts';
import type { Volume } from '../../core/volume.ts';
import { workerBridge } from '../worker-bridge.ts';

const bridge = workerBridge<PreprocessWorkerApi>(
  () => new Worker(new URL('../../../workers/preprocess.worker.ts', import.meta.url), { type: 'module' }),
);

export const stop = bridge.stop;

/** Preprocesses a copy of the volume (the page keeps its own for display). */
export function preprocessInWorker(
  volume: Volume,
  spec: unknown,
  onProgress: (e: ProgressEvent) => void,
  signal?: AbortSignal,
): Promise<PreprocessResult> {
  return bridge.call(signal, (w) => {
    const copy: Volume = { ...volume, data: volume.data.slice() };
    return w.preprocessVolume(Comlink.transfer(copy, [copy.data.buffer]), spec, Comlink.proxy(onProgress));
  });
}
