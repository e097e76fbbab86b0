/**
 * The backbone in the page's worker through onnxruntime-web: WebGPU through the `/webgpu` build (the
 * built-in WebGPU EP; the older default WebGPU backend returns wrong 3D pooling, see shared notes),
 * checked once per device against WASM on a small probe model, and WASM through the plain `/wasm`
 * build. The `/webgpu` build can run the WASM EP too, but its asyncify runtime made warm runs of
 * the shipped 64³ backbone about 2× slower with 1 thread and 4× slower with 2 threads in a worker
 * (median 42 / 63 ms against 19 / 14 ms, Chromium 156; docs/performance.md). WASM on
 * any WebGPU disagreement or error, and a mid-run WebGPU failure (device lost) re-runs on WASM.
 * The backend in use is always recorded.
 */
import type * as OrtWeb from 'onnxruntime-web';
import type { Manifest } from '../bundle/manifest.ts';
import { lastRunOn, runSession, type Backbone, type BackendName, type OrtLike, type SessionShape } from './session.ts';

type Ort = typeof OrtWeb;
type Session = OrtWeb.InferenceSession;

/** The part of the WebGPU API used here (TypeScript's DOM lib has no WebGPU types). */
interface GpuLike {
  requestAdapter(): Promise<{
    info?: { vendor: string; architecture: string; device: string; description: string };
  } | null>;
}

export interface OrtWebConfig {
  /** Where the ORT .wasm/.mjs files are served from this origin (copied to public/ort/). */
  wasmPaths: string;
  /** WASM threads; 2 needs cross-origin isolation (COOP/COEP), else ORT falls back to 1. */
  threads: number;
}

let config: OrtWebConfig | null = null;
const builds: Partial<Record<'webgpu' | 'wasm', Promise<Ort>>> = {};

function apply(ort: Ort, c: OrtWebConfig): void {
  ort.env.wasm.wasmPaths = c.wasmPaths;
  ort.env.wasm.numThreads = c.threads;
  ort.env.wasm.simd = true;
  ort.env.logLevel = 'error';
}

/** Settings for both builds; call before the first session (ORT reads numThreads once). */
export function configureOrt(c: OrtWebConfig): void {
  config = c;
  for (const b of Object.values(builds)) void b.then((ort) => apply(ort, c));
}

/** The ORT build for a backend, loaded on first use (the other one is never downloaded). */
function ortFor(backend: 'webgpu' | 'wasm'): Promise<Ort> {
  builds[backend] ??= (backend === 'webgpu' ? import('onnxruntime-web/webgpu') : import('onnxruntime-web/wasm')).then(
    (ort) => {
      if (config) apply(ort as Ort, config);
      return ort as Ort;
    },
  );
  return builds[backend]!;
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

/** The last call queued into the /webgpu build. */
let gpuQueue: Promise<unknown> = Promise.resolve();

/**
 * Calls into the /webgpu build one at a time, across sessions: two overlapping calls (a model
 * loading while another runs, or the probe) corrupt its asyncify heap or are refused ("another
 * WebGPU EP inference session is being created").
 */
function onGpuBuild<T>(fn: () => Promise<T>): Promise<T> {
  const result = gpuQueue.catch(() => undefined).then(fn);
  gpuQueue = result.catch(() => undefined);
  return result;
}

async function session(model: Uint8Array, backend: 'webgpu' | 'wasm'): Promise<Session> {
  const ort = await ortFor(backend);
  const create = () =>
    ort.InferenceSession.create(model, { executionProviders: [backend], graphOptimizationLevel: 'all' });
  return backend === 'webgpu' ? onGpuBuild(create) : create();
}

/** Runs one input through a session of either build (each build's own Tensor class). */
async function run(
  session: Session,
  backend: 'webgpu' | 'wasm',
  shape: SessionShape,
  input: Float32Array,
  camGradient?: ArrayLike<number>,
) {
  const ort = (await ortFor(backend)) as unknown as OrtLike;
  const go = () => runSession(ort, session, shape, input, camGradient);
  return backend === 'webgpu' ? onGpuBuild(go) : go();
}

function release(session: Session, backend: BackendName): Promise<void> {
  return backend === 'webgpu' ? onGpuBuild(() => session.release()) : session.release();
}

/** Deterministic input in [0, 1) for the probe (xorshift32, seed 1). */
export function probeInput(n: number): Float32Array {
  const out = new Float32Array(n);
  let s = 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
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
export async function probeWebGpu(
  probeModel: Uint8Array,
  probeManifest: SessionShape,
  tolerance = 1e-4,
): Promise<ProbeResult> {
  const input = probeInput(probeManifest.input.shape.slice(1).reduce((a, b) => a * b, 1));
  let gpu: Session | undefined;
  let cpu: Session | undefined;
  try {
    gpu = await session(probeModel, 'webgpu');
    cpu = await session(probeModel, 'wasm');
    const a = await run(gpu, 'webgpu', probeManifest, input);
    const b = await run(cpu, 'wasm', probeManifest, input.slice());
    let maxAbsDiff = 0;
    const pairs: [Float32Array | undefined, Float32Array | undefined][] = [
      [a.features, b.features],
      [a.featureMap, b.featureMap],
    ];
    for (const [x, y] of pairs) {
      if (!x || !y) continue;
      if (x.length !== y.length)
        return { ok: false, maxAbsDiff: Infinity, detail: `output sizes differ (${x.length} vs ${y.length})` };
      for (let i = 0; i < x.length; i++)
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(x[i] - y[i]) || (Number.isNaN(x[i]) ? Infinity : 0));
    }
    const ok = maxAbsDiff <= tolerance;
    return {
      ok,
      maxAbsDiff,
      detail: ok
        ? `WebGPU agrees with WASM (max |Δ| ${maxAbsDiff.toExponential(2)})`
        : `WebGPU disagrees with WASM (max |Δ| ${maxAbsDiff.toExponential(2)} > ${tolerance})`,
    };
  } catch (err) {
    return { ok: false, maxAbsDiff: Infinity, detail: `WebGPU probe failed: ${(err as Error).message}` };
  } finally {
    if (gpu) await release(gpu, 'webgpu').catch(() => undefined);
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
export async function createWebBackbone(
  model: Uint8Array,
  manifest: Manifest,
  prefer: 'webgpu' | 'wasm',
): Promise<WebBackbone> {
  let backend: BackendName = prefer;
  let fallbackReason: string | undefined;
  let current: Session;
  try {
    current = await session(model, prefer);
  } catch (err) {
    if (prefer === 'wasm') throw err;
    fallbackReason = `WebGPU session failed (${(err as Error).message}); using WASM`;
    backend = 'wasm';
    current = await session(model, 'wasm');
  }

  async function runBackbone(input: Float32Array, camGradient?: ArrayLike<number>) {
    try {
      if (backend !== 'webgpu') return await run(current, 'wasm', manifest, input, camGradient);
      gpuRunsPending++;
      try {
        // ORT may keep a reference to the input data for GPU upload: hand it a copy on WebGPU.
        const pending = run(current, 'webgpu', manifest, input.slice(), camGradient);
        // A device lost mid-run normally rejects the run (e2e: "device lost in the middle of a
        // run"); should a readback never settle instead, the lost promise still ends the wait.
        const device = await gpuDevice();
        if (!device) return await pending;
        pending.catch(() => undefined);
        const lost = device.lost.then((info) => ({ lost: info }));
        const first = await Promise.race([pending.then((out) => ({ out })), lost]);
        if ('lost' in first)
          throw new Error(
            `the WebGPU device was lost: ${first.lost.message || first.lost.reason || 'no reason given'}`,
          );
        return first.out;
      } finally {
        gpuRunsPending--;
      }
    } catch (err) {
      if (backend !== 'webgpu') throw err;
      fallbackReason = `WebGPU failed during the run (${(err as Error).message}); finished on WASM`;
      const old = current;
      // The GPU session goes once its run has settled (releasing it mid-run is not safe).
      void lastRunOn(old)
        .catch(() => undefined)
        .finally(() => release(old, 'webgpu').catch(() => undefined));
      backend = 'wasm';
      current = await session(model, 'wasm');
      return run(current, 'wasm', manifest, input, camGradient);
    }
  }

  return {
    get backend() {
      return backend;
    },
    get fallbackReason() {
      return fallbackReason;
    },
    run: runBackbone,
    release: () => release(current, backend),
  };
}

interface GpuDeviceLike {
  destroy(): void;
  lost: Promise<{ reason?: string; message?: string }>;
  queue: { submit(commands: unknown[]): void };
}

/** ORT's WebGPU device, once the /webgpu build has made one (its typings promise a Promise; it may hand back the device itself). */
async function gpuDevice(): Promise<GpuDeviceLike | undefined> {
  const gpuBuild = builds.webgpu;
  if (!gpuBuild) return undefined;
  const ort = await gpuBuild;
  const device = (await Promise.resolve(ort.env.webgpu.device).catch(() => undefined)) as GpuDeviceLike | undefined;
  return device?.destroy ? device : undefined;
}

/** Destroys ORT's WebGPU device: the e2e test's way to make the device be lost between classifications. */
export async function loseWebGpuDevice(): Promise<boolean> {
  const device = await gpuDevice();
  device?.destroy();
  return !!device;
}

/** WebGPU backbone runs in flight (for the device-loss test hook). */
let gpuRunsPending = 0;
let armedLoss: { fired: boolean; duringRun: boolean } | null = null;

/**
 * Test hook: the next GPU work ORT submits (the next WebGPU backbone run) destroys the device right
 * after the submission, so the loss hits the run in the middle: its commands are queued and its
 * results not yet read back. Resolves false when there is no WebGPU device to lose.
 */
export async function armWebGpuDeviceLoss(): Promise<boolean> {
  const device = await gpuDevice();
  if (!device) return false;
  const queue = device.queue;
  const submit = queue.submit;
  const state = { fired: false, duringRun: false };
  armedLoss = state;
  queue.submit = function (this: unknown, commands: unknown[]) {
    submit.call(queue, commands);
    queue.submit = submit;
    state.fired = true;
    state.duringRun = gpuRunsPending > 0;
    device.destroy();
  };
  return true;
}

/** What the armed device loss did: whether it fired, and whether a backbone run was in flight then. */
export function webGpuDeviceLossReport(): { fired: boolean; duringRun: boolean } | null {
  return armedLoss ? { ...armedLoss } : null;
}
