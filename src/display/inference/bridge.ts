/**
 * The inference worker's bridge (life cycle from ../worker-bridge.ts): re-sends the page's
 * configuration to a fresh worker and remembers the models the running worker holds.
 */
import * as Comlink from 'comlink';
import type { AdaptProgress } from '../../core/adapt/index.ts';
import type {
  AdaptRequest,
  ClassifyRequest,
  InferenceApi,
  InferenceConfig,
  LoadedModel,
  SliceRun,
  SliceSource,
} from '../../core/protocol.ts';
import type { Plane } from '../../core/preprocess/slice2d.ts';
import type { Volume } from '../../core/volume.ts';
import { workerBridge } from '../worker-bridge.ts';

let configured: InferenceConfig | null = null;
/** Models the running worker holds: a repeat load answers at once, so classification starts before the page's other work. */
const loaded = new Map<string, Promise<LoadedModel>>();
/** The scan the running worker holds for slices (the store's object: a new scan is a new object). */
let heldScan: Volume | null = null;

const bridge = workerBridge<InferenceApi>(
  () => new Worker(new URL('../../../workers/inference.worker.ts', import.meta.url), { type: 'module' }),
  {
    onStart: (api) => {
      if (configured) void api.init(configured);
    },
    onStop: () => {
      loaded.clear();
      heldScan = null;
    },
  },
);
const { start, call } = bridge;

/** Stops the worker (and every model in it); the next call starts it again. */
export const stop = bridge.stop;

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
export const armDeviceLoss = () => call(undefined, (w) => w.armDeviceLoss());
export const deviceLossReport = () => call(undefined, (w) => w.deviceLossReport());
export const benchBackbone = (modelId: string, runs: number) => call(undefined, (w) => w.benchBackbone(modelId, runs));
export const quantumDetails = (...args: Parameters<InferenceApi['quantumDetails']>) =>
  call(undefined, (w) => w.quantumDetails(...args));

/** Classifies a copy of the volume (the page keeps its own for display). */
export const classify = (req: ClassifyRequest, signal?: AbortSignal) => call(signal, (w) => w.classify(req));

async function classifySliceSource(modelId: string, source: SliceSource): Promise<SliceRun & { model: LoadedModel }> {
  const model = await loadModel(modelId);
  return { model, ...(await call(undefined, (w) => w.classifySlice(modelId, source))) };
}

/** Classifies a slice of `scan` with a 2D model, cut in the worker; the scan crosses once per scan and worker, not per slice. */
export async function classifySlice(
  modelId: string,
  scan: Volume,
  plane: Plane,
  index: number,
): Promise<SliceRun & { model: LoadedModel }> {
  if (heldScan !== scan) {
    heldScan = scan;
    await call(undefined, (w) => w.holdScan(scan)).catch((err: unknown) => {
      heldScan = null;
      throw err;
    });
  }
  return classifySliceSource(modelId, { plane, index });
}

/** Classifies a ready 2D model input (slice2d.ts layout: a dropped picture, a test's tensor). */
export const classifySliceInput = (modelId: string, input: Float32Array) => classifySliceSource(modelId, { input });

/** A scan's backbone features for adaptation; the volume is transferred (the caller keeps no copy). */
export const scanFeatures = (modelId: string, volume: Volume, signal?: AbortSignal) =>
  call(signal, (w) => w.scanFeatures(modelId, Comlink.transfer(volume, [volume.data.buffer])));

/** Test hook (InferenceApi.holdNextAdaptation): resolves once the next adaptation waits where its fine-tuning starts. */
export const holdNextAdaptation = () => call(undefined, (w) => w.holdNextAdaptation());

/** Adapts a model (InferenceApi.adapt); aborting stops the worker, its models load again on the next call. */
export const adapt = (req: AdaptRequest, onProgress: (p: AdaptProgress) => void, signal?: AbortSignal) =>
  call(signal, (w) => w.adapt(req, Comlink.proxy(onProgress)));
