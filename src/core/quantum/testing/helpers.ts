/**
 * Test helpers for the quantum modules: the WASM kernel (built on demand when kernel/build is
 * missing), a seeded random source, random states and spec construction.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Complex } from '../complex.ts';
import { loadWasmEngine } from '../wasm.ts';
import type { Engine } from '../engine.ts';
import { type CircuitSpec, parseCircuitSpec } from '../spec.ts';
import { mulberry32 as rng } from '../../random.ts';

const wasmPath = fileURLToPath(new URL('../../../../kernel/build/kernel.wasm', import.meta.url));
let engine: Promise<Engine> | undefined;

/**
 * The WASM engine, compiling kernel/assembly first if kernel.wasm is missing. QUMRI_KERNEL_WASM
 * points the tests at another build (e.g. a deliberately broken one, to see them fail).
 */
export function testEngine(): Promise<Engine> {
  if (!engine) {
    const other = process.env.QUMRI_KERNEL_WASM;
    if (!other && !existsSync(wasmPath))
      execFileSync(process.execPath, [fileURLToPath(new URL('../../../../kernel/build.mjs', import.meta.url))], {
        stdio: 'inherit',
      });
    engine = loadWasmEngine(other ? new URL(`file://${other}`) : undefined);
  }
  return engine;
}

/** Deterministic uniform [0, 1) stream, re-exported for the tests that import it from here. */
export { rng };

/** A random normalised state of n qubits. */
export function randomState(n: number, rand: () => number): Complex[] {
  const v = Array.from({ length: 1 << n }, (): Complex => [rand() - 0.5, rand() - 0.5]);
  const norm = Math.sqrt(v.reduce((s, a) => s + a[0] * a[0] + a[1] * a[1], 0));
  return v.map((a) => [a[0] / norm, a[1] / norm]);
}

/** Interleaved Float64Array of a state. */
export const interleave = (v: readonly Complex[]): Float64Array => Float64Array.from(v.flatMap((a) => [a[0], a[1]]));

/** Largest |a_i − b_i|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A parsed spec from n, layers and readout. */
export function spec(n: number, layers: unknown[], readout = 'parity'): CircuitSpec {
  return parseCircuitSpec({ format: 'qumri-circuit/1', n_qubits: n, layers, readout });
}
