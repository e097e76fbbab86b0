// Spec parsing: defaults, shapes, and a clear error naming the problem for every kind of bad spec or input.
import { describe, expect, it } from 'vitest';
import { createSimulator } from './simulator.ts';
import { CircuitSpecError, circuitShape, parseCircuitSpec } from './spec.ts';
import { spec, testEngine } from './testing/helpers.ts';

const base = { format: 'qumri-circuit/1', n_qubits: 2, readout: 'parity' };
const bad = (json: unknown): string => {
  try {
    parseCircuitSpec(json);
  } catch (err) {
    expect(err).toBeInstanceOf(CircuitSpecError);
    return (err as Error).message;
  }
  throw new Error('expected a CircuitSpecError');
};

describe('parseCircuitSpec', () => {
  it('fills in the documented defaults', () => {
    const s = parseCircuitSpec({ ...base, layers: [{ family: 'zz_feature_map' }, { family: 'real_amplitudes' }] });
    expect(s.layers).toEqual([
      { family: 'zz_feature_map', reps: 2, entanglement: 'full', alpha: 2 },
      { family: 'real_amplitudes', reps: 3, entanglement: 'reverse_linear', skip_final_rotation_layer: false },
    ]);
  });

  it('computes shapes for every family', () => {
    const shape = (layers: unknown[], n = 3, readout = 'z') => circuitShape(spec(n, layers, readout));
    expect(shape([{ family: 'angle' }, { family: 'rot_cnot', layers: 2 }])).toEqual({
      nInputs: 3,
      nWeights: 18,
      nOutputs: 3,
    });
    expect(shape([{ family: 'amplitude' }, { family: 'rxyz_ring' }], 3, 'xz')).toEqual({
      nInputs: 8,
      nWeights: 9,
      nOutputs: 6,
    });
    expect(shape([{ family: 'angle' }, { family: 'cnot_rz', layers: 3 }], 4, 'probs')).toEqual({
      nInputs: 4,
      nWeights: 12,
      nOutputs: 16,
    });
    expect(shape([{ family: 'real_amplitudes', reps: 2, skip_final_rotation_layer: true }])).toEqual({
      nInputs: 0,
      nWeights: 6,
      nOutputs: 3,
    });
    expect(
      shape([
        {
          family: 'gates',
          ops: [
            { gate: 'rx', qubits: [0], params: ['x'] },
            { gate: 'rot', qubits: [1], params: ['w', 'w', 0.5] },
          ],
        },
      ]),
    ).toEqual({ nInputs: 1, nWeights: 2, nOutputs: 3 });
  });

  it('names the problem in every bad spec', () => {
    expect(bad({ ...base, layers: [{ family: 'qaoa' }] })).toMatch(/layers\[0\]\.family: unknown family 'qaoa'/);
    expect(bad({ ...base, layers: [{ family: 'gates', ops: [{ gate: 'toffoli', qubits: [0, 1, 2] }] }] })).toMatch(
      /unknown gate 'toffoli'/,
    );
    expect(bad({ ...base, layers: [{ family: 'gates', ops: [{ gate: 'cx', qubits: [0, 2] }] }] })).toMatch(
      /qubits\[1\]: qubit index 2 out of range 0\.\.1/,
    );
    expect(bad({ ...base, layers: [{ family: 'gates', ops: [{ gate: 'rx', qubits: [0], params: [] }] }] })).toMatch(
      /gate 'rx' takes 1 parameter/,
    );
    expect(bad({ ...base, layers: [{ family: 'gates', ops: [{ gate: 'cx', qubits: [1, 1] }] }] })).toMatch(
      /two different qubits/,
    );
    expect(bad({ ...base, layers: [{ family: 'gates', ops: [{ gate: 'ry', qubits: [0], params: [null] }] }] })).toMatch(
      /params\[0\]: expected 'x', 'w' or a finite number, got null/,
    );
    expect(bad({ ...base, n_qubits: 25, layers: [{ family: 'angle' }] })).toMatch(
      /25 qubits exceed the kernel's limit of 24/,
    );
    expect(bad({ ...base, n_qubits: 0, layers: [{ family: 'angle' }] })).toMatch(
      /n_qubits: expected an integer ≥ 1, got 0/,
    );
    expect(bad({ ...base, layers: [{ family: 'zz_feature_map', entanglement: 'star' }] })).toMatch(
      /entanglement: expected one of .*got 'star'/,
    );
    expect(bad({ ...base, layers: [{ family: 'real_amplitudes', reps: 1.5 }] })).toMatch(
      /reps: expected an integer ≥ 0, got 1\.5/,
    );
    expect(bad({ ...base, layers: [{ family: 'angle', rotation: 'W' }] })).toMatch(
      /rotation: expected one of X, Y, Z, got 'W'/,
    );
    expect(bad({ ...base, layers: [{ family: 'angle' }, { family: 'amplitude' }] })).toMatch(/must be the first layer/);
    expect(bad({ ...base, layers: [{ family: 'angle', reps: 2 }] })).toMatch(/unknown key 'reps'/);
    expect(bad({ ...base, readout: 'y', layers: [{ family: 'angle' }] })).toMatch(
      /readout: expected one of z, x, xz, parity, probs, got 'y'/,
    );
    expect(bad({ ...base, format: 'qiskit', layers: [{ family: 'angle' }] })).toMatch(
      /format: expected 'qumri-circuit\/1'/,
    );
    expect(bad({ ...base, layers: [] })).toMatch(/layers: expected a non-empty array/);
    expect(bad('zz')).toMatch(/spec: expected an object/);
  });

  it('rejects bad inputs with the index of the bad value', async () => {
    const sim = createSimulator(await testEngine());
    const s = spec(2, [{ family: 'zz_feature_map' }, { family: 'real_amplitudes' }]);
    const w = new Float64Array(8);
    expect(() => sim.forward(s, Float64Array.of(0.1, 0.2, 0.3, NaN), w)).toThrow(/x\[3\] \(sample 1, index 1\) is NaN/);
    expect(() => sim.forward(s, Float64Array.of(0.1, 0.2, 0.3), w)).toThrow(/x: expected/);
    expect(() => sim.forward(s, Float64Array.of(0.1, 0.2), new Float64Array(7))).toThrow(
      /weights: expected 8 values, got 7/,
    );
    expect(() => sim.forward(s, Float64Array.of(0.1, 0.2), Float64Array.of(0, 0, 0, Infinity, 0, 0, 0, 0))).toThrow(
      /weights\[3\] is Infinity/,
    );
    const amp = spec(2, [{ family: 'amplitude' }, { family: 'rot_cnot' }], 'z');
    expect(() => sim.forward(amp, new Float64Array(4), new Float64Array(6))).toThrow(/sample 0 is the zero vector/);
    const raw = spec(1, [{ family: 'amplitude', normalize: false }, { family: 'rot_cnot' }], 'z');
    expect(() => sim.forward(raw, Float64Array.of(1, 1), new Float64Array(3))).toThrow(
      /L2 norm 1\.414.*normalize is false/,
    );
  });
});
