// Adjoint gradients vs parameter shift (per angle slot) and central finite differences (inputs
// and weights), ≤ 1e-8, for every family and readout; batches; WASM vs TypeScript vs dense.
import { describe, expect, it } from 'vitest';
import { READOUT_CODE, compile, createSimulator } from './simulator.ts';
import { denseEvaluate } from './testing/dense-matrix.ts';
import { referenceEngine } from './reference.ts';
import { circuitShape } from './spec.ts';
import { maxAbsDiff, rng, spec, testEngine } from './testing/helpers.ts';

const CIRCUITS: [number, unknown[], string][] = [
  [2, [{ family: 'zz_feature_map' }, { family: 'real_amplitudes' }], 'parity'],
  [
    3,
    [
      { family: 'zz_feature_map', reps: 1, entanglement: 'circular', alpha: 1.5 },
      { family: 'real_amplitudes', reps: 2, entanglement: 'full' },
    ],
    'z',
  ],
  [
    3,
    [
      { family: 'angle', rotation: 'X' },
      { family: 'cnot_rz', layers: 2 },
    ],
    'z',
  ],
  [3, [{ family: 'amplitude' }, { family: 'rot_cnot', layers: 2 }], 'xz'],
  [
    2,
    [
      { family: 'amplitude', n_features: 3, pad_with: 0.2 },
      { family: 'rxyz_ring', layers: 1 },
    ],
    'probs',
  ],
  [
    3,
    [
      { family: 'angle', rotation: 'Y' },
      { family: 'rxyz_ring', layers: 2 },
    ],
    'x',
  ],
];

describe('adjoint gradients', () => {
  for (const [n, layers, readout] of CIRCUITS) {
    const s = spec(n, layers, readout);
    const label = `${layers.map((l) => (l as { family: string }).family).join('+')} n=${n} ${readout}`;

    it(`${label}: equal central differences for x and weights, and parameter shift per angle`, async () => {
      const e = await testEngine();
      const sim = createSimulator(e);
      const rand = rng(n * 31 + readout.length);
      const { nInputs, nWeights, nOutputs } = circuitShape(s);
      const x = Float64Array.from({ length: nInputs }, () => 0.2 + rand());
      const w = Float64Array.from({ length: nWeights }, () => 2 * Math.PI * rand() - Math.PI);
      const ow = Float64Array.from({ length: nOutputs }, () => rand() - 0.5);
      const loss = (xx: Float64Array, ww: Float64Array): number =>
        sim.forward(s, xx, ww).reduce((a, v, k) => a + v * ow[k], 0);
      const g = sim.backward(s, x, w, ow);
      const h = 1e-5;
      const fd = (v: Float64Array, i: number, f: (u: Float64Array) => number): number => {
        const up = v.slice();
        up[i] += h;
        const dn = v.slice();
        dn[i] -= h;
        return (f(up) - f(dn)) / (2 * h);
      };
      for (let i = 0; i < nInputs; i++)
        expect(Math.abs(g.gradX[i] - fd(x, i, (u) => loss(u, w))), `x[${i}]`).toBeLessThan(1e-8);
      for (let j = 0; j < nWeights; j++)
        expect(Math.abs(g.gradWeights[j] - fd(w, j, (u) => loss(x, u))), `w[${j}]`).toBeLessThan(1e-8);

      // parameter shift on every angle slot: df/da = [f(a + π/2) − f(a − π/2)]/2 for all our one-parameter gates
      const { program, packed } = compile(s);
      const angles = Float64Array.from(program.angles, (a) =>
        a.kind === 'const'
          ? a.value
          : a.kind === 'x'
            ? a.scale * x[a.index]
            : a.kind === 'w'
              ? w[a.index]
              : a.alpha * (Math.PI - x[a.i]) * (Math.PI - x[a.j]),
      );
      // amplitude-embedded circuits start from a state, not |0…0⟩; their input path is checked above
      if (!program.amplitude) {
        const rc = READOUT_CODE[s.readout];
        const adj = e.adjoint(packed, angles, 1, null, rc, ow);
        const f = (a: Float64Array): number =>
          e.forward(packed, a, 1, null, rc).reduce((acc, v, k) => acc + v * ow[k], 0);
        angles.forEach((_, k) => {
          const up = angles.slice();
          up[k] += Math.PI / 2;
          const dn = angles.slice();
          dn[k] -= Math.PI / 2;
          expect(Math.abs(adj.gradAngles[k] - (f(up) - f(dn)) / 2), `slot ${k}`).toBeLessThan(1e-8);
        });
      }

      // the product-rule dense reference agrees
      const d = denseEvaluate(s, x, w, ow);
      expect(maxAbsDiff(g.gradX, d.gradX)).toBeLessThan(1e-10);
      expect(maxAbsDiff(g.gradWeights, d.gradWeights)).toBeLessThan(1e-10);
      expect(maxAbsDiff(g.outputs, d.outputs)).toBeLessThan(1e-12);
    });
  }

  it('batch: one call gives per-sample gradX and weights summed over the batch; WASM = TypeScript', async () => {
    const wasm = createSimulator(await testEngine());
    const ts = createSimulator(referenceEngine);
    const s = spec(
      3,
      [
        { family: 'zz_feature_map', entanglement: 'linear' },
        { family: 'real_amplitudes', reps: 2 },
      ],
      'z',
    );
    const rand = rng(99);
    const batch = 5;
    const x = Float64Array.from({ length: 3 * batch }, () => rand() * 2);
    const w = Float64Array.from({ length: 9 }, () => rand() * 2);
    const ow = Float64Array.from({ length: 3 * batch }, () => rand() - 0.5);
    const all = wasm.backward(s, x, w, ow);
    const sum = new Float64Array(9);
    for (let b = 0; b < batch; b++) {
      const one = wasm.backward(s, x.subarray(3 * b, 3 * b + 3), w, ow.subarray(3 * b, 3 * b + 3));
      expect(maxAbsDiff(all.gradX.subarray(3 * b, 3 * b + 3), one.gradX)).toBeLessThan(1e-14);
      expect(maxAbsDiff(all.outputs.subarray(3 * b, 3 * b + 3), one.outputs)).toBeLessThan(1e-14);
      one.gradWeights.forEach((v, j) => {
        sum[j] += v;
      });
    }
    expect(maxAbsDiff(all.gradWeights, sum)).toBeLessThan(1e-12);
    const t = ts.backward(s, x, w, ow);
    expect(maxAbsDiff(all.gradX, t.gradX)).toBeLessThan(1e-12);
    expect(maxAbsDiff(all.gradWeights, t.gradWeights)).toBeLessThan(1e-12);
  });
});
