/**
 * Circuit families as data, and the one builder that turns a spec into a kernel program.
 *
 * Ansätze follow Qiskit's n_local pattern (rotation blocks + an entangling CX list, repeated);
 * each family below is a few lines of data. Encoders map input features to angles. Every angle
 * of the program is an expression of x and the weights (AngleExpr) so one compiled program serves
 * a whole batch, and the chain rule back to x and weights is exact.
 *
 * ZZFeatureMap(2, reps=1) (Havlíček et al., Nature 567, 209 (2019); Qiskit's pauli_feature_map),
 * with φ_i = α·x_i and φ_01 = α(π − x_0)(π − x_1):
 *
 *      ┌───┐┌────────┐
 * q_0: ┤ H ├┤ P(φ_0) ├──■─────────────────■──
 *      ├───┤├────────┤┌─┴─┐┌──────────┐┌─┴─┐
 * q_1: ┤ H ├┤ P(φ_1) ├┤ X ├┤ P(φ_01)  ├┤ X ├
 *      └───┘└────────┘└───┘└──────────┘└───┘
 *
 * The CX·P·CX block is emitted as the single diagonal gate ZZ(φ_01) = diag(1, e^{iφ}, e^{iφ}, 1)
 * (identical matrix, one pass over the state); QASM export writes it back as CX·P·CX.
 *
 * RealAmplitudes(2, reps=1) (Qiskit; the paper-A head uses reps=3, reverse_linear):
 *
 *      ┌───────┐     ┌───────┐
 * q_0: ┤ RY(θ0)├──■──┤ RY(θ2)├
 *      ├───────┤┌─┴─┐├───────┤
 * q_1: ┤ RY(θ1)├┤ X ├┤ RY(θ3)├
 *      └───────┘└───┘└───────┘
 *
 * Example: buildProgram(parseCircuitSpec({ format: 'qumri-circuit/1', n_qubits: 2,
 *   layers: [{ family: 'zz_feature_map' }, { family: 'real_amplitudes' }], readout: 'parity' }))
 */
import { Gate } from '../../../kernel/assembly/codes.ts';
import { gateByName } from './gates.ts';
import {
  type AmplitudeLayer,
  type CircuitSpec,
  type Entanglement,
  type Layer,
  type ReadoutName,
  circuitShape,
} from './spec.ts';

/** An angle as a function of the inputs x and the weights w. */
export type AngleExpr =
  | { kind: 'const'; value: number }
  | { kind: 'x'; index: number; scale: number }
  | { kind: 'w'; index: number }
  | { kind: 'zz'; i: number; j: number; alpha: number };

export interface ProgramOp {
  gate: Gate;
  qubits: readonly [number, number];
  /** First angle slot (the gate's parameters are consecutive slots); −1 for fixed gates. */
  slot: number;
}

export interface Program {
  nQubits: number;
  ops: ProgramOp[];
  angles: AngleExpr[];
  /** The amplitude-embedding layer (always first) with the offset of its features in x. */
  amplitude: (AmplitudeLayer & { offset: number }) | null;
  readout: ReadoutName;
  nInputs: number;
  nWeights: number;
  nOutputs: number;
}

/** Qubit pairs of an entanglement option, in Qiskit's order. */
export function entanglementPairs(kind: Entanglement, n: number): [number, number][] {
  const linear = Array.from({ length: Math.max(n - 1, 0) }, (_, i): [number, number] => [i, i + 1]);
  switch (kind) {
    case 'full': {
      const out: [number, number][] = [];
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out.push([i, j]);
      return out;
    }
    case 'linear':
      return linear;
    case 'reverse_linear':
      return linear.reverse();
    case 'circular':
      return n > 2 ? [[n - 1, 0], ...linear] : linear;
  }
}

/** CX(j → (j+1) mod n) for j = 0..n−1 (none for one qubit). */
const ring = (n: number): [number, number][] =>
  n < 2 ? [] : Array.from({ length: n }, (_, j): [number, number] => [j, (j + 1) % n]);

/** An n_local ansatz as data: per rep, rotation gates on each qubit (weights qubit-major) and CX pairs. */
interface NLocal {
  rotations: readonly string[];
  pairs: [number, number][];
  reps: number;
  finalRotation: boolean;
  entangleFirst: boolean;
}

type AnsatzLayer = Extract<Layer, { family: 'real_amplitudes' | 'rot_cnot' | 'rxyz_ring' | 'cnot_rz' }>;

/** The ansatz families (papers A and B) as n_local data. */
const ANSATZE: { [F in AnsatzLayer['family']]: (l: Extract<AnsatzLayer, { family: F }>, n: number) => NLocal } = {
  // Qiskit RealAmplitudes (paper A)
  real_amplitudes: (l, n) => ({
    rotations: ['ry'],
    pairs: entanglementPairs(l.entanglement, n),
    reps: l.reps,
    finalRotation: !l.skip_final_rotation_layer,
    entangleFirst: false,
  }),
  // PennyLane Rot + nearest-neighbour CNOTs (paper B: QResNet50, QDenseNet121)
  rot_cnot: (l, n) => ({
    rotations: ['rot'],
    pairs: entanglementPairs('linear', n),
    reps: l.layers,
    finalRotation: false,
    entangleFirst: false,
  }),
  // RX, RY, RZ then a CNOT ring (paper B: QEfficientNetB3)
  rxyz_ring: (l, n) => ({
    rotations: ['rx', 'ry', 'rz'],
    pairs: ring(n),
    reps: l.layers,
    finalRotation: false,
    entangleFirst: false,
  }),
  // CNOT chain then trainable RZ (paper B: QCNN)
  cnot_rz: (l, n) => ({
    rotations: ['rz'],
    pairs: entanglementPairs('linear', n),
    reps: l.layers,
    finalRotation: false,
    entangleFirst: true,
  }),
};

const ANGLE_GATE = { X: 'rx', Y: 'ry', Z: 'rz' } as const;

/** Compiles a valid spec into a program: ops over angle slots, plus the amplitude-embedding layer if any. */
export function buildProgram(spec: CircuitSpec): Program {
  const n = spec.n_qubits;
  const ops: ProgramOp[] = [];
  const angles: AngleExpr[] = [];
  let x = 0;
  let w = 0;
  let amplitude: Program['amplitude'] = null;
  const emit = (name: string, qubits: readonly number[], params: readonly AngleExpr[] = []): void => {
    const def = gateByName(name);
    if (!def || def.nParams !== params.length) throw new Error(`builder: bad gate ${name}/${params.length}`);
    ops.push({ gate: def.code, qubits: [qubits[0], qubits[1] ?? 0], slot: params.length ? angles.length : -1 });
    angles.push(...params);
  };
  const nextW = (): AngleExpr => ({ kind: 'w', index: w++ });

  for (const layer of spec.layers) {
    switch (layer.family) {
      case 'zz_feature_map': {
        const a = layer.alpha;
        for (let r = 0; r < layer.reps; r++) {
          for (let q = 0; q < n; q++) emit('h', [q]);
          for (let q = 0; q < n; q++) emit('p', [q], [{ kind: 'x', index: x + q, scale: a }]);
          for (const [i, j] of entanglementPairs(layer.entanglement, n)) {
            emit('zz', [i, j], [{ kind: 'zz', i: x + i, j: x + j, alpha: a }]);
          }
        }
        x += n;
        break;
      }
      case 'angle':
        for (let q = 0; q < n; q++) emit(ANGLE_GATE[layer.rotation], [q], [{ kind: 'x', index: x + q, scale: 1 }]);
        x += n;
        break;
      case 'amplitude':
        amplitude = { ...layer, offset: x };
        x += layer.n_features;
        break;
      case 'gates':
        for (const op of layer.ops) {
          emit(
            op.gate,
            op.qubits,
            op.params.map((p): AngleExpr =>
              p === 'x' ? { kind: 'x', index: x++, scale: 1 } : p === 'w' ? nextW() : { kind: 'const', value: p },
            ),
          );
        }
        break;
      default: {
        const shape = (ANSATZE[layer.family] as (l: AnsatzLayer, n: number) => NLocal)(layer, n);
        const rotate = (): void => {
          for (let q = 0; q < n; q++) {
            for (const r of shape.rotations) emit(r, [q], Array.from({ length: gateByName(r)?.nParams ?? 0 }, nextW));
          }
        };
        const entangle = (): void => shape.pairs.forEach(([i, j]) => emit('cx', [i, j]));
        for (let r = 0; r < shape.reps; r++) {
          if (shape.entangleFirst) {
            entangle();
            rotate();
          } else {
            rotate();
            entangle();
          }
        }
        if (shape.finalRotation) rotate();
      }
    }
  }
  const shape = circuitShape(spec);
  if (shape.nInputs !== x || shape.nWeights !== w) {
    throw new Error(
      `builder: consumed ${x} inputs and ${w} weights, shape says ${shape.nInputs} and ${shape.nWeights}`,
    );
  }
  return { nQubits: n, ops, angles, amplitude, readout: spec.readout, ...shape };
}
