/**
 * Where the backbone's time goes, per operator type, from ONNX Runtime's own profiler. Run as a
 * child process per runtime (bench/e2e.ts does): `npx tsx bench/backbone-profile.ts <backbone.onnx>
 * node|wasm [threads]`. `node` is onnxruntime-node (native CPU kernels); `wasm` is onnxruntime-web's
 * /wasm build running in node on the same .wasm file the page loads (1 thread: its worker threads
 * need a browser). Both print ORT's profile events, one JSON object per line (the /wasm build prints
 * them itself through emscripten's stdout); `summariseProfile` turns that output into per-run times.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = 11;

interface Event {
  cat: string;
  name: string;
  dur: number;
  ts: number;
  args?: { op_name?: string };
}

export interface BackboneProfile {
  runtime: string;
  threads: number;
  /** Warm runs (the first excluded): ORT's model_run time, the summed kernel time, by operator type. */
  runMs: number;
  kernelMs: number;
  outsideKernelsMs: number;
  firstRunMs: number;
  byOp: Record<string, number>;
}

/** Per-run summary of the profile events in a child's output (null when there are none). */
export function summariseProfile(output: string, runtime: string, threads: number): BackboneProfile | null {
  const events: Event[] = [];
  for (const line of output.split('\n')) {
    const l = line.trim().replace(/,$/, '');
    if (!l.startsWith('{"cat"')) continue;
    try {
      events.push(JSON.parse(l) as Event);
    } catch {
      // not an event line
    }
  }
  const runs = events.filter((e) => e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  if (runs.length < 2) return null;
  const warm = runs.slice(1);
  const byOp: Record<string, number> = {};
  let kernel = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < warm[0].ts) continue;
    const op = e.args?.op_name ?? 'other';
    byOp[op] = (byOp[op] ?? 0) + e.dur / 1000 / warm.length;
    kernel += e.dur / 1000 / warm.length;
  }
  const runMs = warm.reduce((s, e) => s + e.dur / 1000, 0) / warm.length;
  return {
    runtime,
    threads,
    runMs,
    kernelMs: kernel,
    outsideKernelsMs: runMs - kernel,
    firstRunMs: runs[0].dur / 1000,
    byOp,
  };
}

interface SessionLike {
  inputNames: readonly string[];
  inputMetadata: readonly unknown[];
  run(feeds: Record<string, unknown>, fetches: string[]): Promise<unknown>;
}
type TensorCtor = new (type: 'float32', data: Float32Array, dims: number[]) => unknown;

/** One classification run as the page makes it: the volume, zeros for a Grad-CAM gradient input, the two backbone outputs. */
function classifyRun(s: SessionLike, Tensor: TensorCtor, x: Float32Array): Promise<unknown> {
  const feeds: Record<string, unknown> = {};
  s.inputNames.forEach((name, i) => {
    const dims = [1, ...(s.inputMetadata[i] as { shape: number[] }).shape.slice(1)];
    feeds[name] = new Tensor('float32', i === 0 ? x : new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  });
  return s.run(feeds, ['features', 'feature_map']);
}

function benchVolume(s: SessionLike): Float32Array {
  const shape = [1, ...(s.inputMetadata[0] as { shape: number[] }).shape.slice(1)];
  return new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => (i % 997) / 997);
}

async function main(file: string, which: string, threads: number): Promise<void> {
  const model = readFileSync(file);
  if (which === 'node') {
    const ort = await import('onnxruntime-node');
    const prefix = `qumri-ortprof-${process.pid}`;
    const s = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      enableProfiling: true,
      profileFilePrefix: join(tmpdir(), prefix),
    });
    const session = s as unknown as SessionLike;
    const x = benchVolume(session);
    for (let r = 0; r < RUNS; r++) await classifyRun(session, ort.Tensor as unknown as TensorCtor, x);
    s.endProfiling(); // writes <prefix>_<date>.json
    await s.release();
    for (const f of readdirSync(tmpdir()).filter((n) => n.startsWith(prefix))) {
      for (const e of JSON.parse(readFileSync(join(tmpdir(), f), 'utf8')) as Event[])
        process.stdout.write(`${JSON.stringify(e)}\n`);
      rmSync(join(tmpdir(), f));
    }
  } else {
    const ort = await import('onnxruntime-web/wasm');
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
    const s = await ort.InferenceSession.create(model, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
      enableProfiling: true,
    });
    const session = s as unknown as SessionLike;
    const x = benchVolume(session);
    for (let r = 0; r < RUNS; r++) await classifyRun(session, ort.Tensor as unknown as TensorCtor, x);
    s.endProfiling(); // printed to stdout by the runtime
    await s.release();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, which, threads] = process.argv.slice(2);
  await main(file, which, Number(threads ?? 1));
  // Exit once everything written to the pipe is flushed (writes to a pipe are asynchronous).
  process.stdout.write('', () => process.exit(0));
}
