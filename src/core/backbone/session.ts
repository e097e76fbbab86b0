/**
 * The backbone contract shared by node and web: one ONNX session fed a volume on the model grid,
 * returning pooled features and the last feature map, or, given the head's gradient, the graph's
 * Grad-CAM at an inner stage (docs/model-bundle.md). Written against onnxruntime-common so
 * onnxruntime-node and onnxruntime-web run the same code.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { Manifest } from '../bundle/manifest.ts';

export type BackendName = 'webgpu' | 'wasm' | 'node-cpu';

export interface BackboneOutput {
  features: Float32Array;
  /** [F, d, h, w] (3D) or [F, h, w] (2D), when the bundle exports it. */
  featureMap?: Float32Array;
  featureMapDims?: number[];
  /** Present when the run was given a gradient: the Grad-CAM stage's map and weights (CamOutputs). */
  cam?: CamMap;
}

export interface CamMap {
  /** [C, d, h, w] C order. */
  featureMap: Float32Array;
  featureMapDims: number[];
  /** Σ over the map's cells of ∂score/∂map, per channel. */
  channelGrad: Float32Array;
}

export interface Backbone {
  readonly backend: BackendName;
  /** With `camGradient` (∂score/∂features, for a bundle with outputs.cam) the output also has `cam`. */
  run(input: Float32Array, camGradient?: ArrayLike<number>): Promise<BackboneOutput>;
  release(): Promise<void>;
}

/** What both ORT packages export that this module uses. */
export interface OrtLike {
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => Tensor;
  InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
}

/** The manifest fields a session run needs (the probe model has no full manifest). */
export type SessionShape = Pick<Manifest, 'id' | 'input' | 'outputs'>;

export function inputShape(m: SessionShape): number[] {
  return [1, ...m.input.shape.slice(1)];
}

/** The last run queued on each session: ONNX Runtime Web corrupts its WASM heap when one session runs twice at once. */
const lastRun = new WeakMap<InferenceSession, Promise<unknown>>();

/** The last run queued on a session (settled or not): release a session only after it. */
export function lastRunOn(session: InferenceSession): Promise<unknown> {
  return lastRun.get(session) ?? Promise.resolve();
}

/**
 * Runs one volume (Float32Array in NIfTI order, which is C order for [.., nz, ny, nx]). Runs on the
 * same session are queued, so a new scan arriving mid-classification waits instead of overlapping.
 */
export function runSession(
  ort: OrtLike,
  session: InferenceSession,
  m: SessionShape,
  input: Float32Array,
  camGradient?: ArrayLike<number>,
): Promise<BackboneOutput> {
  const previous = lastRun.get(session) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => runOnce(ort, session, m, input, camGradient));
  lastRun.set(session, run);
  return run;
}

async function runOnce(
  ort: OrtLike,
  session: InferenceSession,
  m: SessionShape,
  input: Float32Array,
  camGradient?: ArrayLike<number>,
): Promise<BackboneOutput> {
  const dims = inputShape(m);
  const expected = dims.reduce((a, b) => a * b, 1);
  if (input.length !== expected) {
    throw new Error(
      `model ${m.id} expects ${dims.slice(2).reverse().join('×')} voxels (${expected}), got ${input.length}: the scan is not on the model grid`,
    );
  }
  const cam = m.outputs.cam;
  if (camGradient && !cam) throw new Error(`model ${m.id} has no Grad-CAM outputs: its backbone takes no gradient`);
  if (cam && camGradient && camGradient.length !== cam.n_features) {
    throw new Error(
      `model ${m.id}: the Grad-CAM gradient has ${camGradient.length} values, the backbone has ${cam.n_features} features`,
    );
  }
  const feeds: Record<string, Tensor> = { [m.input.name]: new ort.Tensor('float32', input, dims) };
  if (cam)
    feeds[cam.gradient] = new ort.Tensor(
      'float32',
      camGradient ? Float32Array.from(camGradient) : new Float32Array(cam.n_features),
      [1, cam.n_features],
    );
  const wanted = [
    m.outputs.features,
    ...(camGradient && cam ? [cam.feature_map, cam.weights] : m.outputs.feature_map ? [m.outputs.feature_map] : []),
  ];
  const out = await session.run(feeds, wanted);
  const result: BackboneOutput = { features: Float32Array.from(out[m.outputs.features].data as Float32Array) };
  const fmap = m.outputs.feature_map ? out[m.outputs.feature_map] : undefined;
  if (fmap) {
    result.featureMap = Float32Array.from(fmap.data as Float32Array);
    result.featureMapDims = fmap.dims.slice(1);
  }
  if (camGradient && cam) {
    const map = out[cam.feature_map];
    result.cam = {
      featureMap: Float32Array.from(map.data as Float32Array),
      featureMapDims: map.dims.slice(1),
      channelGrad: Float32Array.from(out[cam.weights].data as Float32Array),
    };
  }
  for (const t of Object.values(out)) t.dispose();
  return result;
}
