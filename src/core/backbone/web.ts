/**
 * The backbone in the page's worker through onnxruntime-web's `/webgpu` build (the built-in WebGPU
 * EP; the older default WebGPU backend returns wrong 3D pooling, see shared notes): WebGPU first,
 * checked once per device against WASM on a small probe model, WASM on any disagreement or error,
 * and a mid-run WebGPU failure (device lost) re-runs on WASM. The backend in use is always recorded.
 */
import * as ort from 'onnxruntime-web/webgpu';
import type { Manifest } from '../bundle/manifest.ts';
import { runSession, type Backbone, type BackendName, type OrtLike, type SessionShape } from './session.ts';

/** The part of the WebGPU API used here (TypeScript's DOM lib has no WebGPU types). */
interface GpuLike {
  requestAdapter(): Promise<{ info?: { vendor: string; architecture: string; device: string; description: string } } | null>;
}

export interface OrtWebConfig {
  /** Where the ORT .wasm/.mjs files are served from this origin (copied to public/ort/). */
  wasmPaths: string;
  /** WASM threads; 2 needs cross-origin isolation (COOP/COEP), else ORT falls back to 1. */
  threads: number;
}

export function configureOrt({ wasmPaths, threads }: OrtWebConfig): void {
  ort.env.wasm.wasmPaths = wasmPaths;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  ort.env.logLevel = 'error';
}

/** A stable description of this device's WebGPU adapter, or null when WebGPU is unavailable. */
export async function webGpuAdapterKey(): Promise<string | null> {
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return null;
  const i = adapter.info;
  return i ? [i.vendor, i.architecture, i.device, i.description].join('|') : 'unknown-adapter';
}

async function session(model: Uint8Array, backend: 'webgpu' | 'wasm'): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, { executionProviders: [backend], graphOptimizationLevel: 'all' });
}

/** Deterministic input in [0, 1) for the probe (xorshift32, seed 1). */
export function probeInput(n: number): Float32Array {
  const out = new Float32Array(n);
  let s = 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    out[i] = (s >>> 0) / 2 ** 32;
  }
  return out;
}

export interface ProbeResult {
  ok: boolean;
  /** Largest |webgpu − wasm| over features and feature map. */
  maxAbsDiff: number;
  detail: string;
}

/**
 * Runs a probe bundle (small, with the real models' 3D conv/pool ops) on WebGPU and WASM and
 * compares: a silently wrong GPU backend shows here before any scan is classified.
 */
export async function probeWebGpu(probeModel: Uint8Array, probeManifest: SessionShape, tolerance = 1e-4): Promise<ProbeResult> {
  const input = probeInput(probeManifest.input.shape.slice(1).reduce((a, b) => a * b, 1));
  let gpu: ort.InferenceSession | undefined;
  let cpu: ort.InferenceSession | undefined;
  try {
    gpu = await session(probeModel, 'webgpu');
    cpu = await session(probeModel, 'wasm');
    const a = await runSession(ort as unknown as OrtLike, gpu, probeManifest, input);
    const b = await runSession(ort as unknown as OrtLike, cpu, probeManifest, input.slice());
    let maxAbsDiff = 0;
    const pairs: [Float32Array | undefined, Float32Array | undefined][] = [[a.features, b.features], [a.featureMap, b.featureMap]];
    for (const [x, y] of pairs) {
      if (!x || !y) continue;
      if (x.length !== y.length) return { ok: false, maxAbsDiff: Infinity, detail: `output sizes differ (${x.length} vs ${y.length})` };
      for (let i = 0; i < x.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(x[i] - y[i]) || (Number.isNaN(x[i]) ? Infinity : 0));
    }
    const ok = maxAbsDiff <= tolerance;
    return { ok, maxAbsDiff, detail: ok ? `WebGPU agrees with WASM (max |Δ| ${maxAbsDiff.toExponential(2)})` : `WebGPU disagrees with WASM (max |Δ| ${maxAbsDiff.toExponential(2)} > ${tolerance})` };
  } catch (err) {
    return { ok: false, maxAbsDiff: Infinity, detail: `WebGPU probe failed: ${(err as Error).message}` };
  } finally {
    await gpu?.release().catch(() => undefined);
    await cpu?.release().catch(() => undefined);
  }
}

export interface WebBackbone extends Backbone {
  /** Why the backbone left WebGPU, when it did (probe disagreement, device lost, session error). */
  readonly fallbackReason: string | undefined;
}

/**
 * A backbone that starts on `prefer` and moves to WASM for good when WebGPU fails; the `backend`
 * property always names the backend that produced the last result.
 */
export async function createWebBackbone(model: Uint8Array, manifest: Manifest, prefer: 'webgpu' | 'wasm'): Promise<WebBackbone> {
  let backend: BackendName = prefer;
  let fallbackReason: string | undefined;
  let current: ort.InferenceSession;
  try {
    current = await session(model, prefer);
  } catch (err) {
    if (prefer === 'wasm') throw err;
    fallbackReason = `WebGPU session failed (${(err as Error).message}); using WASM`;
    backend = 'wasm';
    current = await session(model, 'wasm');
  }

  async function run(input: Float32Array) {
    try {
      // ORT may keep a reference to the input data for GPU upload: hand it a copy on WebGPU.
      return await runSession(ort as unknown as OrtLike, current, manifest, backend === 'webgpu' ? input.slice() : input);
    } catch (err) {
      if (backend !== 'webgpu') throw err;
      fallbackReason = `WebGPU failed during the run (${(err as Error).message}); finished on WASM`;
      await current.release().catch(() => undefined);
      backend = 'wasm';
      current = await session(model, 'wasm');
      return runSession(ort as unknown as OrtLike, current, manifest, input);
    }
  }

  return {
    get backend() {
      return backend;
    },
    get fallbackReason() {
      return fallbackReason;
    },
    run,
    release: () => current.release(),
  };
}

/** Destroys ORT's WebGPU device: the e2e test's way to make the device be lost mid-classification. */
export async function loseWebGpuDevice(): Promise<boolean> {
  // ORT's typings promise a Promise; the /webgpu build hands back the device itself once a session exists.
  const device = (await Promise.resolve(ort.env.webgpu.device).catch(() => undefined)) as { destroy?(): void } | undefined;
  if (!device?.destroy) return false;
  device.destroy();
  return true;
}
