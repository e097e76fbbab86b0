// Circuit families against dense-matrix products built straight from their definitions
// (dense.ts): ZZFeatureMap and RealAmplitudes for n = 2..6 and every entanglement option, the
// other families for n = 1..4, every readout; on the WASM kernel (state, outputs, norm).
import { describe, expect, it } from 'vitest';
import { Readout } from '../../../kernel/assembly/codes.ts';
import { buildProgram, entanglementPairs } from './builder.ts';
import { denseEvaluate, denseUnitary } from './testing/dense-matrix.ts';
import { createSimulator, compile } from './simulator.ts';
import { ENTANGLEMENTS, READOUTS, circuitShape } from './spec.ts';
import { maxAbsDiff, rng, spec, testEngine } from './testing/helpers.ts';

const uniform = (rand: () => number, n: number, lo: number, hi: number): Float64Array =>
  Float64Array.from({ length: n }, () => lo + (hi - lo) * rand());

/** Final state of a spec from the kernel (STATE readout through the compiled program). */
async function kernelState(s: ReturnType<typeof spec>, x: Float64Array, w: Float64Array): Promise<Float64Array> {
  const e = await testEngine();
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
  return e.forward(packed, angles, 1, null, Readout.STATE);
}

describe('entanglement lists', () => {
  it('follow Qiskit', () => {
    expect(entanglementPairs('full', 3)).toEqual([
      [0, 1],
      [0, 2],
      [1, 2],
    ]);
    expect(entanglementPairs('linear', 3)).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect(entanglementPairs('reverse_linear', 3)).toEqual([
      [1, 2],
      [0, 1],
    ]);
    expect(entanglementPairs('circular', 3)).toEqual([
      [2, 0],
      [0, 1],
      [1, 2],
    ]);
    expect(entanglementPairs('circular', 2)).toEqual([[0, 1]]);
  });
});

describe('ZZFeatureMap and RealAmplitudes vs dense products', () => {
  for (let n = 2; n <= 6; n++) {
    it(`n = ${n}, every entanglement`, async () => {
      const rand = rng(100 + n);
      for (const ent of ENTANGLEMENTS) {
        const zz = spec(n, [{ family: 'zz_feature_map', reps: 2, entanglement: ent }], 'probs');
        const x = uniform(rand, n, -Math.PI, Math.PI);
        const u = denseUnitary(zz, x, []);
        const got = await kernelState(zz, x, new Float64Array(0));
        expect(
          maxAbsDiff(
            got,
            u.flatMap((row) => [row[0][0], row[0][1]]),
          ),
          `zz ${ent}`,
        ).toBeLessThan(1e-12);

        const ra = spec(n, [{ family: 'real_amplitudes', reps: 3, entanglement: ent }], 'probs');
        const w = uniform(rand, circuitShape(ra).nWeights, -Math.PI, Math.PI);
        const ur = denseUnitary(ra, [], w);
        const gotR = await kernelState(ra, new Float64Array(0), w);
        expect(
          maxAbsDiff(
            gotR,
            ur.flatMap((row) => [row[0][0], row[0][1]]),
          ),
          `ra ${ent}`,
        ).toBeLessThan(1e-12);
        expect(Math.abs(gotR.reduce((a, v) => a + v * v, 0) - 1)).toBeLessThan(1e-12);
      }
    });
  }

  it('RealAmplitudes reverse_linear is CX(n−2→n−1), …, CX(0→1) and skips the final layer on request', () => {
    const p = buildProgram(spec(4, [{ family: 'real_amplitudes', reps: 1, skip_final_rotation_layer: true }]));
    expect(p.ops.filter((o) => o.slot < 0).map((o) => o.qubits)).toEqual([
      [2, 3],
      [1, 2],
      [0, 1],
    ]);
    expect(p.nWeights).toBe(4);
  });
});

const OTHER_FAMILIES: unknown[][] = [
  [
    { family: 'angle', rotation: 'X' },
    { family: 'cnot_rz', layers: 2 },
  ],
  [
    { family: 'angle', rotation: 'Y' },
    { family: 'rxyz_ring', layers: 2 },
  ],
  [
    { family: 'angle', rotation: 'Z' },
    { family: 'rot_cnot', layers: 2 },
  ],
  [{ family: 'amplitude' }, { family: 'rot_cnot', layers: 1 }],
  [
    { family: 'amplitude', n_features: 2, pad_with: 0.5 },
    { family: 'real_amplitudes', reps: 1, entanglement: 'full' },
  ],
  [
    { family: 'zz_feature_map', reps: 1, entanglement: 'linear', alpha: 1.3 },
    {
      family: 'gates',
      ops: [
        { gate: 'h', qubits: [0] },
        { gate: 'rot', qubits: [0], params: ['w', 0.3, 'w'] },
        { gate: 'y', qubits: [0] },
        { gate: 's', qubits: [0] },
        { gate: 't', qubits: [0] },
        { gate: 'x', qubits: [0] },
        { gate: 'z', qubits: [0] },
        { gate: 'rx', qubits: [0], params: ['x'] },
      ],
    },
  ],
];

describe('every family and readout vs dense products (n = 1..4)', () => {
  it('outputs agree to 1e-12 on the WASM kernel', async () => {
    const sim = createSimulator(await testEngine());
    const rand = rng(5);
    let cases = 0;
    for (const layers of OTHER_FAMILIES) {
      for (let n = 1; n <= 4; n++) {
        for (const readout of READOUTS) {
          const s = spec(n, layers, readout);
          const { nInputs, nWeights, nOutputs } = circuitShape(s);
          const x = uniform(rand, nInputs, 0.1, 1.5);
          const w = uniform(rand, nWeights, -Math.PI, Math.PI);
          const got = sim.forward(s, x, w);
          const want = denseEvaluate(s, x, w, new Float64Array(nOutputs)).outputs;
          expect(maxAbsDiff(got, want), `${JSON.stringify(layers)} n=${n} ${readout}`).toBeLessThan(1e-12);
          cases++;
        }
      }
    }
    expect(cases).toBe(OTHER_FAMILIES.length * 4 * READOUTS.length);
  });

  it('probabilities sum to one and match the probs readout', async () => {
    const sim = createSimulator(await testEngine());
    const s = spec(3, [{ family: 'angle' }, { family: 'rxyz_ring' }], 'z');
    const x = Float64Array.of(0.2, 0.9, 1.7);
    const w = uniform(rng(3), 9, -1, 1);
    const p = sim.probabilities(s, x, w);
    expect(Math.abs(p.reduce((a, v) => a + v, 0) - 1)).toBeLessThan(1e-12);
    expect(maxAbsDiff(p, denseEvaluate({ ...s, readout: 'probs' }, x, w, new Float64Array(8)).outputs)).toBeLessThan(
      1e-12,
    );
  });
});
