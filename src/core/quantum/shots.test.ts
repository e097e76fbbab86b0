// Shots mode: deterministic for a seed, and converging to the exact readout as shots grow
// (statistical bounds with a fixed seed: |error| < 5σ, and the error shrinks with N).
import { describe, expect, it } from 'vitest';
import { createSimulator } from './simulator.ts';
import { sampleCounts, xoshiro128ss } from './shots.ts';
import { circuitShape } from './spec.ts';
import { rng, spec, testEngine } from './testing/helpers.ts';

describe('PRNG and sampling', () => {
  it('xoshiro128** is deterministic, seeds differ, and draws are uniform', () => {
    const a = xoshiro128ss(42);
    const b = xoshiro128ss(42);
    const c = xoshiro128ss(43);
    const xs = Array.from({ length: 20000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(c()).not.toBe(xs[0]);
    expect(xs.every((v) => v >= 0 && v < 1)).toBe(true);
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / xs.length));
    expect(() => xoshiro128ss(-1)).toThrow(/seed -1/);
  });

  it('counts follow the probabilities', () => {
    const p = Float64Array.of(0.1, 0.2, 0.3, 0.4);
    const n = 100000;
    const counts = sampleCounts(p, n, xoshiro128ss(1));
    expect(counts.reduce((s, v) => s + v, 0)).toBe(n);
    counts.forEach((k, i) => expect(Math.abs(k / n - p[i])).toBeLessThan(5 * Math.sqrt((p[i] * (1 - p[i])) / n)));
    expect(sampleCounts(Float64Array.of(0, 1, 0), 50, xoshiro128ss(3))).toEqual(Float64Array.of(0, 50, 0));
  });
});

describe('sample()', () => {
  for (const readout of ['z', 'x', 'xz', 'parity', 'probs']) {
    it(`${readout}: converges to the exact readout`, async () => {
      const sim = createSimulator(await testEngine());
      const s = spec(
        3,
        [
          { family: 'zz_feature_map', reps: 1 },
          { family: 'real_amplitudes', reps: 1 },
        ],
        readout,
      );
      const rand = rng(8);
      const { nInputs, nWeights } = circuitShape(s);
      const x = Float64Array.from({ length: nInputs }, () => rand() * 2);
      const w = Float64Array.from({ length: nWeights }, () => rand() * 3);
      const exact = sim.forward(s, x, w);
      const errs = [100, 10000, 1000000].map((shots) => {
        const est = sim.sample(s, x, w, shots, 2024);
        expect(est.length).toBe(exact.length);
        expect(sim.sample(s, x, w, shots, 2024)).toEqual(est);
        est.forEach((v, k) => {
          // an expectation of ±1 outcomes has σ ≤ 1/√N; a probability has σ ≤ ½/√N
          expect(Math.abs(v - exact[k]), `${readout}[${k}] at ${shots} shots`).toBeLessThan(5 / Math.sqrt(shots));
        });
        return Math.max(...est.map((v, k) => Math.abs(v - exact[k])));
      });
      expect(errs[2]).toBeLessThan(errs[0]);
      expect(errs[2]).toBeLessThan(5e-3);
    });
  }
});
