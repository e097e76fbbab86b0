/**
 * The preprocessing worker (comlink): runs src/core/preprocess off the main thread, reports
 * progress per step and transfers the result's buffers. Plain functions exposed once as
 * PreprocessWorkerApi (src/core/protocol.ts). Outside a worker (node tests, the bench) the same
 * functions are imported directly, so the worker path and the CLI path run identical code.
 */
import * as Comlink from 'comlink';
import { parseNifti } from '../src/core/load/nifti.ts';
import {
  parsePreprocessSpec,
  preprocess,
  type PreprocessResult,
  type ProgressEvent,
} from '../src/core/preprocess/index.ts';
import type { PreprocessWorkerApi } from '../src/core/protocol.ts';
import type { Volume } from '../src/core/volume.ts';

type Progress = (e: ProgressEvent) => void;

export function preprocessVolume(volume: Volume, spec: unknown, onProgress?: Progress): PreprocessResult {
  const result = preprocess(volume, parsePreprocessSpec(spec), onProgress);
  return Comlink.transfer(result, [result.data.buffer, result.mask.buffer, result.resampled.buffer]);
}

export function preprocessBytes(
  bytes: Uint8Array,
  fileName: string,
  spec: unknown,
  onProgress?: Progress,
): PreprocessResult {
  return preprocessVolume(parseNifti(bytes, fileName).volume, spec, onProgress);
}

const api = { preprocessVolume, preprocessBytes } satisfies PreprocessWorkerApi;

// Only a worker global scope has one to expose on; importing this module in node must not.
if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) Comlink.expose(api);
