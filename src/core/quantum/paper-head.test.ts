// The paper-A head (ZZFeatureMap(2) → RealAmplitudes(2, reps 3) → Z⊗Z) on the WASM kernel,
// against the dense-matrix reference and the plain-TypeScript engine.
import { describe, expect, it } from 'vitest';
import { denseEvaluate } from './testing/dense-matrix.ts';
import { referenceEngine } from './reference.ts';
import { createSimulator } from './simulator.ts';
import { circuitShape } from './spec.ts';
import { maxAbsDiff, rng, spec, testEngine } from './testing/helpers.ts';

const head = spec(2, [{ family: 'zz_feature_map' }, { family: 'real_amplitudes' }], 'parity');

describe('paper head', () => {
  it('has 2 inputs, 8 weights and one parity output', () => {
    expect(circuitShape(head)).toEqual({ nInputs: 2, nWeights: 8, nOutputs: 1 });
  });

  it('matches dense products for a batch, in one call, on WASM and TypeScript', async () => {
    const wasm = createSimulator(await testEngine());
    const ts = createSimulator(referenceEngine);
    const rand = rng(7);
    const batch = 16;
    const x = Float64Array.from({ length: 2 * batch }, () => 2 * Math.PI * rand() - Math.PI);
    const w = Float64Array.from({ length: 8 }, () => 2 * Math.PI * rand());
    const out = wasm.forward(head, x, w);
    expect(out.length).toBe(batch);
    const dense = Array.from(
      { length: batch },
      (_, b) => denseEvaluate(head, x.subarray(2 * b, 2 * b + 2), w, [1]).outputs[0],
    );
    expect(maxAbsDiff(out, dense)).toBeLessThan(1e-12);
    expect(maxAbsDiff(ts.forward(head, x, w), dense)).toBeLessThan(1e-12);
    expect(out.some((v) => Math.abs(v) > 0.05)).toBe(true);
  });
});
