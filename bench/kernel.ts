/**
 * `npm run bench:kernel`: statevector throughput and head latency, all measured in this one run.
 *
 * 1. Million amplitude updates per second (2^n updates per gate application) for RY and for CX
 *    at n = 10, 14, 18, 20, 22: (a) the AssemblyScript/WASM kernel, (b) the same algorithm in
 *    plain TypeScript (src/core/quantum/reference.ts), (c) native C++ (bench/kernel-native.cpp,
 *    compiled here with g++ -O3 -march=native). Each run = |0…0⟩ + a program of ~2^26 updates
 *    cycling over every target qubit + a parity readout; best of REPEATS runs, the three
 *    implementations interleaved so a shared machine's load hits them alike.
 * 2. Per-sample time of the 2-qubit paper head (ZZFeatureMap(2) + RealAmplitudes(2, reps 3),
 *    parity) and an 8-qubit head (ZZFeatureMap(8, linear) + RealAmplitudes(8, reps 3), ⟨Z⟩),
 *    forward and forward+gradient, batch of 256 in one call, WASM and TypeScript.
 * Writes bench/results/kernel.json and prints a table. Options: --quick (n ≤ 18, fewer updates).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gate, Readout } from '../kernel/assembly/codes.ts';
import { type Engine, packOps } from '../src/core/quantum/engine.ts';
import { referenceEngine } from '../src/core/quantum/reference.ts';
import { createSimulator } from '../src/core/quantum/simulator.ts';
import { circuitShape, parseCircuitSpec } from '../src/core/quantum/spec.ts';
import { loadWasmEngine } from '../src/core/quantum/wasm.ts';

const quick = process.argv.includes('--quick');
const SIZES = quick ? [10, 14, 18] : [10, 14, 18, 20, 22];
const TARGET_UPDATES = quick ? 2 ** 23 : 2 ** 26;
const REPEATS = 7;
const root = fileURLToPath(new URL('..', import.meta.url));

type GateKind = 'ry' | 'cx';

/** Gate count for a run: ~TARGET_UPDATES updates, a whole number of sweeps over the qubits. */
const opsFor = (n: number): number => Math.max(n, Math.ceil(TARGET_UPDATES / 2 ** n / n) * n);

function program(kind: GateKind, n: number) {
  const nOps = opsFor(n);
  const ops = Array.from({ length: nOps }, (_, i) =>
    kind === 'ry'
      ? { gate: Gate.RY, qubits: [i % n, 0] as const, slot: i }
      : { gate: Gate.CX, qubits: [i % n, ((i % n) + 1) % n] as const, slot: -1 },
  );
  const angles = Float64Array.from({ length: kind === 'ry' ? nOps : 0 }, (_, i) => 0.1 + 0.01 * i);
  return { packed: packOps(n, ops, angles.length), angles, nOps };
}

/** Seconds of one run and the parity it produced. */
function runEngine(e: Engine, kind: GateKind, n: number): { seconds: number; parity: number } {
  const { packed, angles } = program(kind, n);
  const t0 = performance.now();
  const parity = e.forward(packed, angles, 1, null, Readout.PARITY)[0];
  return { seconds: (performance.now() - t0) / 1000, parity };
}

function buildNative(): string | null {
  const exe = join(tmpdir(), `qumri-kernel-native-${process.pid}`);
  try {
    execFileSync('g++', ['-O3', '-march=native', '-std=c++17', '-o', exe, join(root, 'bench', 'kernel-native.cpp')], {
      stdio: 'pipe',
    });
    return exe;
  } catch (err) {
    console.error(`bench:kernel: g++ failed, skipping the native column: ${(err as Error).message}`);
    return null;
  }
}

function runNative(exe: string, kind: GateKind, n: number): { seconds: number; parity: number } {
  const out = execFileSync(exe, [kind, String(n), String(opsFor(n)), '1'], { encoding: 'utf8' })
    .trim()
    .split('\n');
  return { seconds: Number(out[0]), parity: Number(out[1]) };
}

/** Seconds per sample for a head, batch in one call. */
function timeHead(e: Engine, json: unknown, batch: number, grad: boolean): number {
  const sim = createSimulator(e);
  const spec = parseCircuitSpec(json);
  const { nInputs, nWeights, nOutputs } = circuitShape(spec);
  const x = Float64Array.from({ length: batch * nInputs }, (_, i) => Math.sin(i));
  const w = Float64Array.from({ length: nWeights }, (_, i) => Math.cos(i));
  const og = new Float64Array(batch * nOutputs).fill(1);
  const run = (): unknown => (grad ? sim.backward(spec, x, w, og) : sim.forward(spec, x, w));
  run();
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    run();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best / batch;
}

const HEADS = {
  'paper head (2 qubits)': {
    format: 'qumri-circuit/1',
    n_qubits: 2,
    layers: [{ family: 'zz_feature_map' }, { family: 'real_amplitudes' }],
    readout: 'parity',
  },
  '8-qubit head': {
    format: 'qumri-circuit/1',
    n_qubits: 8,
    layers: [{ family: 'zz_feature_map', entanglement: 'linear' }, { family: 'real_amplitudes' }],
    readout: 'z',
  },
};

async function main(): Promise<void> {
  const loadAtStart = loadavg();
  const wasm = await loadWasmEngine();
  const exe = buildNative();
  const gates: Record<string, unknown>[] = [];
  console.log(
    `bench:kernel — million amplitude updates/s (best of ${REPEATS} interleaved runs; ~${TARGET_UPDATES / 2 ** 20}M updates per run; load average ${loadAtStart.map((v) => v.toFixed(1)).join(' ')})`,
  );
  console.log('gate  n   wasm      ts        native    wasm/ts  wasm/native');
  for (const kind of ['ry', 'cx'] as GateKind[]) {
    for (const n of SIZES) {
      const updates = opsFor(n) * 2 ** n;
      // interleave the three so each sees the same machine load; keep each one's best run
      const best = {
        wasm: { seconds: Infinity, parity: NaN },
        ts: { seconds: Infinity, parity: NaN },
        native: { seconds: Infinity, parity: NaN },
      };
      const keep = (k: keyof typeof best, r: { seconds: number; parity: number }): void => {
        if (r.seconds < best[k].seconds) best[k] = r;
      };
      for (let r = 0; r < REPEATS; r++) {
        keep('wasm', runEngine(wasm, kind, n));
        keep('ts', runEngine(referenceEngine, kind, n));
        if (exe) keep('native', runNative(exe, kind, n));
      }
      const w = best.wasm;
      const t = best.ts;
      const c = exe ? best.native : null;
      const agree = Math.abs(w.parity - t.parity) < 1e-9 && (!c || Math.abs(w.parity - c.parity) < 1e-9);
      if (!agree)
        throw new Error(`engines disagree at ${kind} n=${n}: wasm ${w.parity}, ts ${t.parity}, native ${c?.parity}`);
      const mups = (s: number): number => updates / s / 1e6;
      const row = {
        gate: kind,
        n,
        ops: opsFor(n),
        updates,
        wasm_mups: mups(w.seconds),
        ts_mups: mups(t.seconds),
        native_mups: c ? mups(c.seconds) : null,
      };
      gates.push({
        ...row,
        wasm_over_ts: row.wasm_mups / row.ts_mups,
        wasm_over_native: row.native_mups ? row.wasm_mups / row.native_mups : null,
      });
      console.log(
        `${kind.padEnd(5)} ${String(n).padEnd(3)} ${row.wasm_mups.toFixed(0).padEnd(9)} ${row.ts_mups.toFixed(0).padEnd(9)} ${(row.native_mups?.toFixed(0) ?? '—').padEnd(9)} ${(row.wasm_mups / row.ts_mups).toFixed(2).padEnd(8)} ${row.native_mups ? (row.wasm_mups / row.native_mups).toFixed(2) : '—'}`,
      );
    }
  }
  const heads: Record<string, unknown>[] = [];
  console.log('\nper-sample time (µs), batch of 256 in one call');
  console.log('head                     engine      forward   forward+grad');
  for (const [name, json] of Object.entries(HEADS)) {
    for (const e of [wasm, referenceEngine]) {
      const f = timeHead(e, json, 256, false) * 1e6;
      const g = timeHead(e, json, 256, true) * 1e6;
      heads.push({ head: name, engine: e.name, forward_us: f, forward_grad_us: g });
      console.log(`${name.padEnd(24)} ${e.name.padEnd(11)} ${f.toFixed(2).padEnd(9)} ${g.toFixed(2)}`);
    }
  }
  if (exe) execFileSync('rm', ['-f', exe]);
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    quick,
    repeats: REPEATS,
    loadavg_at_start: loadAtStart,
    note: 'million amplitude updates per second = gate applications × 2^n / seconds / 1e6; one thread each',
    gates,
    heads,
  };
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'kernel.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('\nwrote bench/results/kernel.json');
}

await main();
