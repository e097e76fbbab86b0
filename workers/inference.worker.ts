/**
 * The inference worker (comlink): verifies and loads model bundles, runs preprocessing (3D, or the
 * 2D models' slices cut from a scan it holds), the
 * backbone (onnxruntime-web, WebGPU with a probe check, else WASM) and the head (dense layers in
 * TypeScript, circuits in the WASM kernel), and Grad-CAM; lists and loads the models adapted in this
 * browser (IndexedDB, src/core/bundle/local.ts) beside the served ones, and adapts a loaded model to
 * a site's scans (src/core/adapt). Plain async functions exposed once as InferenceApi (src/core/protocol.ts).
 */
import * as Comlink from 'comlink';
import {
  indexedDbBundles,
  listBundles,
  loadBundle,
  urlSource,
  type BundleSource,
  type Manifest,
  type RegistryEntry,
} from '../src/core/bundle/index.ts';
import { adaptationCaveats, adaptedBundle, adaptHead, type AdaptProgress } from '../src/core/adapt/index.ts';
import {
  armWebGpuDeviceLoss,
  configureOrt,
  createWebBackbone,
  loseWebGpuDevice,
  probeInput,
  webGpuDeviceLossReport,
  probeWebGpu,
  webGpuAdapterKey,
  type WebBackbone,
} from '../src/core/backbone/web.ts';
import { PROBE_SHAPE, PROBE_URL } from '../src/core/backbone/probe.ts';
import { createClassifier, type Classifier } from '../src/core/head/classifier.ts';
import {
  kernelEngineFactory,
  kernelFrom,
  quantumDetails as layerDetails,
  type QuantumDetails,
} from '../src/core/head/kernel-engine.ts';
import { circuitView, type CircuitView } from '../src/core/head/circuit-view.ts';
import kernelUrl from '../kernel/build/kernel.wasm?url';
import { gradCam } from '../src/core/explain/index.ts';
import { parsePreprocessSpec, preprocess } from '../src/core/preprocess/index.ts';
import { asGridVolume, sliceInput } from '../src/core/preprocess/slice2d.ts';
import { judge } from '../src/core/guard/index.ts';
import { contentInput, type GridInput } from '../src/core/guard/sequence-content.ts';
import type {
  AdaptRequest,
  AdaptRun,
  ClassifyRequest,
  ClassifyResult,
  InferenceApi,
  InferenceConfig,
  LoadedModel,
  SliceRun,
  SliceSource,
} from '../src/core/protocol.ts';
import type { Volume } from '../src/core/volume.ts';

let config: InferenceConfig | undefined;
const models = new Map<string, { clf: Classifier; backbone: WebBackbone }>();
/** The scan classifySlice cuts its slices from (holdScan). */
let sliceScan: Volume | null = null;
/** The models adapted in this browser. */
const kept = indexedDbBundles();

function cfg(): InferenceConfig {
  if (!config) throw new Error('inference worker: init() was not called');
  return config;
}

const modelsRoot = () => {
  const base = new URL(cfg().modelsUrl, self.location.href).href;
  return { label: base, read: (p: string) => urlSource(base).read(p) };
};

export async function init(c: InferenceConfig): Promise<void> {
  config = c;
  configureOrt({ wasmPaths: c.ortWasmPaths, threads: c.threads });
}

/** The served models, then those kept in this browser; a kept one under a served id is listed with an error, never loaded. */
export async function listModels(): Promise<RegistryEntry[]> {
  const [served, local] = await Promise.all([
    listBundles(modelsRoot()),
    // IndexedDB can be missing (some private windows): then no adapted model is listed.
    kept.list().catch((): RegistryEntry[] => []),
  ]);
  const ids = new Set(served.map((e) => e.id));
  return [
    ...served,
    ...local.map((e): RegistryEntry =>
      ids.has(e.id)
        ? { id: e.id, local: true, error: `kept in this browser under the id of a served model, ${e.id}` }
        : e,
    ),
  ];
}

/** A kept (adapted here) bundle by that id, else the served one. */
async function sourceFor(id: string): Promise<BundleSource> {
  if (await kept.has(id).catch(() => false)) return kept.source(id);
  return urlSource(new URL(`${id}/`, new URL(cfg().modelsUrl, self.location.href)).href);
}

/** WebGPU if available and agreeing with WASM on the probe; the probe runs once per adapter. */
async function chooseBackend(): Promise<{ backend: 'webgpu' | 'wasm'; reason?: string; probe?: LoadedModel['probe'] }> {
  const c = cfg();
  if (c.backend === 'wasm') return { backend: 'wasm' };
  const adapter = await webGpuAdapterKey();
  if (!adapter)
    return { backend: 'wasm', reason: c.backend === 'webgpu' ? 'WebGPU is not available in this browser' : undefined };
  let result = c.knownProbes[adapter];
  let probe: LoadedModel['probe'];
  if (!result) {
    const bytes = new Uint8Array(await (await fetch(PROBE_URL)).arrayBuffer());
    result = await probeWebGpu(bytes, PROBE_SHAPE);
    probe = { adapter, result };
    c.knownProbes[adapter] = result;
  }
  return result.ok ? { backend: 'webgpu', probe } : { backend: 'wasm', reason: result.detail, probe };
}

export async function loadModel(id: string): Promise<LoadedModel> {
  const t0 = performance.now();
  const existing = models.get(id);
  const c = cfg();
  if (existing) {
    return {
      manifest: existing.clf.manifest,
      backend: existing.backbone.backend as 'webgpu' | 'wasm',
      fallbackReason: existing.backbone.fallbackReason,
      loadMs: 0,
    };
  }
  const bundle = await loadBundle(await sourceFor(id), { maxBytes: c.maxModelBytes });
  const choice = await chooseBackend();
  const backbone = await createWebBackbone(bundle.backbone, bundle.manifest, choice.backend);
  const engines = bundle.head.layers.some((l) => l.type === 'quantum')
    ? kernelEngineFactory(kernelUrl)
    : () => Promise.reject(new Error('no quantum layer'));
  const clf = await createClassifier(bundle, backbone, engines);
  models.set(id, { clf, backbone });
  return {
    manifest: bundle.manifest,
    backend: backbone.backend as 'webgpu' | 'wasm',
    fallbackReason: backbone.fallbackReason ?? choice.reason,
    probe: choice.probe,
    loadMs: performance.now() - t0,
  };
}

export async function unloadModel(id: string): Promise<void> {
  const m = models.get(id);
  models.delete(id);
  await m?.clf.release();
}

/** The model's input for a scan: its preprocessing, or the volume as is when already on the model grid (classify's path, shared by scanFeatures). */
function modelInput(
  manifest: Manifest,
  volume: Volume,
  preprocessed: boolean | undefined,
): { input: Float32Array; gridAffine: number[]; gridMask?: Uint8Array; guardInput: GridInput | null } {
  const grid = manifest.preprocess.grid;
  if (preprocessed) {
    if (volume.dims.some((d, i) => d !== grid[i]))
      throw new Error(`the scan is ${volume.dims.join('×')}, not on the model grid ${grid.join('×')}`);
    return { input: volume.data, gridAffine: volume.affine, guardInput: null };
  }
  const pre = preprocess(volume, parsePreprocessSpec(manifest.preprocess));
  return { input: pre.data, gridAffine: pre.affine, gridMask: pre.mask, guardInput: contentInput(pre) };
}

function loaded(modelId: string): { clf: Classifier; backbone: WebBackbone } {
  const m = models.get(modelId);
  if (!m) throw new Error(`model ${modelId} is not loaded`);
  return m;
}

export async function classify(req: ClassifyRequest): Promise<ClassifyResult> {
  const m = loaded(req.modelId);
  const { manifest } = m.clf;
  const grid = manifest.preprocess.grid;
  const t0 = performance.now();
  const { input, gridAffine, gridMask, guardInput } = modelInput(manifest, req.volume, req.preprocessed);
  const preprocessMs = performance.now() - t0;
  const pred = await m.clf.classify(input, { explain: req.explain });
  let cam: Float32Array | undefined;
  if (pred.explain) {
    cam = gradCam({
      ...pred.explain,
      grid,
      gridAffine,
      scanDims: req.volume.dims,
      scanAffine: req.volume.affine,
      gridMask,
    });
  }
  const { explain: _explain, features: _features, ...rest } = pred;
  const result: ClassifyResult = {
    ...rest,
    modelId: req.modelId,
    fallbackReason: m.backbone.fallbackReason,
    timings: { ...pred.timings, preprocessMs },
    gradCam: cam,
    gradCamCells: pred.explain?.featureMapDims.slice(1),
    guard: judge(manifest, guardInput, pred, { demoScan: req.demoScan, acquisition: req.acquisition }),
  };
  return cam ? Comlink.transfer(result, [cam.buffer]) : result;
}

export function holdScan(volume: Volume): void {
  sliceScan = volume;
}

/** InferenceApi.classifySlice: a 2D model on its 224×224×1 grid (no 3D preprocessing), with Grad-CAM. */
export async function classifySlice(modelId: string, source: SliceSource): Promise<SliceRun> {
  let input: Float32Array;
  if ('input' in source) input = source.input;
  else if (sliceScan) input = sliceInput(sliceScan.data, sliceScan.dims, sliceScan.affine, source.plane, source.index);
  else throw new Error('inference worker: no scan to cut a slice from (holdScan was not called)');
  // A slice is no file: it is never one of the demo phantoms, so a 2D model failing real-scan checks is withheld on every slice.
  const result = await classify({
    modelId,
    volume: asGridVolume(input),
    preprocessed: true,
    explain: true,
    demoScan: false,
  });
  return Comlink.transfer({ input, result }, result.gradCam ? [result.gradCam.buffer] : []);
}

/** InferenceApi.scanFeatures: the pooled features classify would feed the head, for adaptation. */
export async function scanFeatures(modelId: string, volume: Volume): Promise<Float32Array> {
  const m = loaded(modelId);
  const { features } = await m.backbone.run(modelInput(m.clf.manifest, volume, false).input);
  return Comlink.transfer(features, [features.buffer]);
}

/** Progress at most every 100 ms, and at the end of each fold: a fold's epochs take milliseconds each. */
function throttled(onProgress: ((p: AdaptProgress) => void) | undefined): ((p: AdaptProgress) => void) | undefined {
  if (!onProgress) return undefined;
  let last = 0;
  return (p) => {
    const now = performance.now();
    if (p.epoch !== p.epochs && now - last < 100) return;
    last = now;
    onProgress(p);
  };
}

let adaptHold: (() => void) | null = null;

/**
 * Test hook for the adapt e2e: the next `adapt` stops where fine-tuning starts and never goes on,
 * so the test cancels during fine-tuning without racing it (milliseconds on a tiny model); resolves
 * once that adapt is held. Nothing is held unless a test asks.
 */
export function holdNextAdaptation(): Promise<void> {
  return new Promise((held) => {
    adaptHold = held;
  });
}

/**
 * InferenceApi.adapt: the model's bundle read again (verified) for its exact manifest bytes and
 * backbone, the head fine-tuned by src/core/adapt as `qumri adapt` does, the adapted bundle built.
 * The page keeps or discards it; the worker stores nothing.
 */
export async function adapt(req: AdaptRequest, onProgress?: (p: AdaptProgress) => void): Promise<AdaptRun> {
  const source = await sourceFor(req.modelId);
  const bundle = await loadBundle(source, { maxBytes: cfg().maxModelBytes });
  const { manifest } = bundle;
  const kernel = bundle.head.layers.some((l) => l.type === 'quantum') ? await kernelFrom(kernelUrl) : null;
  if (adaptHold) {
    adaptHold();
    adaptHold = null;
    // Until the page cancels, which terminates this worker.
    await new Promise<never>(() => {});
  }
  const result = adaptHead(
    { head: bundle.head, classes: manifest.classes, threshold: manifest.threshold },
    req.scans,
    kernel,
    req.options,
    { onProgress: throttled(onProgress) },
  );
  const out = await adaptedBundle(
    { manifest, manifestBytes: await source.read('manifest.json'), backbone: bundle.backbone },
    result,
    { id: req.id, date: req.date },
  );
  const run: AdaptRun = {
    result,
    caveats: adaptationCaveats(manifest, req.scans),
    manifest: out.manifest,
    files: out.files,
  };
  return Comlink.transfer(run, [...new Set([...out.files.values()].map((b) => b.buffer as ArrayBuffer))]);
}

/** InferenceApi.quantumDetails: the quantum panel's data for one quantum layer of a model. */
export async function quantumDetails(
  modelId: string,
  input: Float64Array,
  shots: { count: number; seed: number } | null,
  layerIndex = 0,
): Promise<QuantumDetails & { view: CircuitView }> {
  const m = loaded(modelId);
  const quantumLayers = m.clf.head.spec.layers.filter((l) => l.type === 'quantum');
  const layer = quantumLayers[layerIndex];
  if (!layer || layer.type !== 'quantum')
    throw new Error(
      `model ${modelId} has ${quantumLayers.length} quantum layer(s); there is no quantum layer ${layerIndex + 1}`,
    );
  const details = await layerDetails(layer, input, shots, kernelUrl);
  return { ...details, view: circuitView(layer.circuit, input, layer.weights) };
}

/**
 * Benchmark hook: times `runs` backbone runs of a loaded model on one fixed input on the model grid
 * (nothing else running in the worker), first run included; the bench times onnxruntime-node the
 * same way (Backbone.run: tensor, session.run, output copies).
 */
export async function benchBackbone(modelId: string, runs: number): Promise<{ backend: string; ms: number[] }> {
  const m = loaded(modelId);
  const input = probeInput(m.clf.manifest.input.shape.slice(1).reduce((a, b) => a * b, 1));
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await m.backbone.run(input);
    ms.push(performance.now() - t0);
  }
  return { backend: m.backbone.backend, ms };
}

/** Test hook for the device-lost e2e: destroys ORT's WebGPU device. */
export function loseDevice(): Promise<boolean> {
  return loseWebGpuDevice();
}

/** Test hooks for the mid-run device-loss e2e (src/core/backbone/web.ts). */
export const armDeviceLoss = (): Promise<boolean> => armWebGpuDeviceLoss();
export const deviceLossReport = () => webGpuDeviceLossReport();

Comlink.expose({
  init,
  listModels,
  loadModel,
  unloadModel,
  classify,
  holdScan,
  classifySlice,
  scanFeatures,
  adapt,
  holdNextAdaptation,
  quantumDetails,
  loseDevice,
  armDeviceLoss,
  deviceLossReport,
  benchBackbone,
} satisfies InferenceApi);
