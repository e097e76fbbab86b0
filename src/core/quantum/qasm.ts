/**
 * OpenQASM 3 export of a circuit with its parameters bound (stdgates.inc only), so a researcher
 * can run one scan's head on hardware. X-basis readouts get an H on every qubit before measuring;
 * for `xz` the listing measures Z and says how to get X. Amplitude embedding is written as a
 * state preparation from uniformly controlled RY rotations (Möttönen et al., QIC 5, 467 (2005)),
 * exact for the real embedded vector.
 */
import { gateByCode } from './gates.ts';
import { CircuitInputError, compile } from './simulator.ts';
import type { AmplitudeLayer, CircuitSpec } from './spec.ts';

/** OpenQASM 3 text of spec with inputs x (one sample) and weights bound. */
export function toQasm3(
  spec: CircuitSpec,
  x: Float64Array | readonly number[],
  weights: Float64Array | readonly number[],
): string {
  const { program } = compile(spec);
  if (x.length !== program.nInputs)
    throw new CircuitInputError(`x: expected ${program.nInputs} values, got ${x.length}`);
  if (weights.length !== program.nWeights)
    throw new CircuitInputError(`weights: expected ${program.nWeights} values, got ${weights.length}`);
  [...x].forEach((v, i) => {
    if (!Number.isFinite(v)) throw new CircuitInputError(`x[${i}] is ${v}`);
  });
  [...weights].forEach((v, i) => {
    if (!Number.isFinite(v)) throw new CircuitInputError(`weights[${i}] is ${v}`);
  });
  const angle = (slot: number): number => {
    const e = program.angles[slot];
    switch (e.kind) {
      case 'const':
        return e.value;
      case 'x':
        return e.scale * x[e.index];
      case 'w':
        return weights[e.index];
      case 'zz':
        return e.alpha * (Math.PI - x[e.i]) * (Math.PI - x[e.j]);
    }
  };
  const n = program.nQubits;
  const lines = [
    'OPENQASM 3.0;',
    'include "stdgates.inc";',
    `// QuMRI circuit: ${spec.layers.map((l) => l.family).join(' → ')}, readout ${spec.readout}; qubit 0 = least significant bit`,
    `qubit[${n}] q;`,
    `bit[${n}] c;`,
  ];
  if (program.amplitude) {
    lines.push('// amplitude embedding: state preparation by uniformly controlled RY rotations');
    lines.push(...statePreparation(embeddedVector(program.amplitude, x, n), n));
  }
  for (const op of program.ops) {
    const def = gateByCode(op.gate);
    const params = Array.from({ length: def.nParams }, (_, k) => angle(op.slot + k));
    const qs = [`q[${op.qubits[0]}]`, `q[${op.qubits[1]}]`].slice(0, def.arity);
    lines.push(...def.qasm(params, qs));
  }
  if (spec.readout === 'x') {
    lines.push('// X-basis readout: rotate every qubit before measuring');
    for (let q = 0; q < n; q++) lines.push(`h q[${q}];`);
  }
  if (spec.readout === 'xz')
    lines.push('// xz readout: these shots give ⟨Z_i⟩; for ⟨X_i⟩ run again with h on every qubit before measuring');
  lines.push('c = measure q;');
  return `${lines.join('\n')}\n`;
}

/** The real unit vector an amplitude layer embeds (padded, normalised), checked like the simulator does. */
function embeddedVector(layer: AmplitudeLayer & { offset: number }, x: ArrayLike<number>, n: number): number[] {
  const v = Array.from({ length: 2 ** n }, (_, k) => (k < layer.n_features ? x[layer.offset + k] : layer.pad_with));
  const norm = Math.hypot(...v);
  if (norm === 0)
    throw new CircuitInputError('amplitude embedding: the input is the zero vector and cannot be normalised');
  if (!layer.normalize && Math.abs(norm - 1) > 1e-10)
    throw new CircuitInputError(`amplitude embedding: L2 norm ${norm}, expected 1 (normalize is false)`);
  return v.map((a) => a / norm);
}

/**
 * QASM lines preparing the real unit vector v (Qiskit order) from |0…0⟩: for q = n−1 … 0 an RY on
 * qubit q uniformly controlled by qubits q+1 … n−1, with angle 2·atan2(‖v₁‖, ‖v₀‖) of the two halves
 * of each block (signed amplitudes at q = 0). Each multiplexed RY is 2^k RYs and CXs: the angles
 * β = 2^{−k}·Mᵀα with M_ci = (−1)^{popcount(c & gray(i))}, and after RY(β_i) a CX from the control
 * whose bit changes between gray(i) and gray(i+1).
 */
export function statePreparation(v: readonly number[], n: number): string[] {
  const lines: string[] = [];
  for (let q = n - 1; q >= 0; q--) {
    const k = n - 1 - q;
    const blocks = 2 ** k;
    const alpha = Array.from({ length: blocks }, (_, c) => {
      if (q === 0) return 2 * Math.atan2(v[2 * c + 1], v[2 * c]);
      const half = 2 ** q;
      const norm = (b: number): number => Math.hypot(...v.slice((2 * c + b) * half, (2 * c + b + 1) * half));
      return 2 * Math.atan2(norm(1), norm(0));
    });
    const gray = (i: number): number => i ^ (i >> 1);
    const parity = (m: number): number => {
      let p = 0;
      for (let b = m; b; b &= b - 1) p ^= 1;
      return p;
    };
    for (let i = 0; i < blocks; i++) {
      const beta = alpha.reduce((s, a, c) => s + (parity(c & gray(i)) ? -a : a), 0) / blocks;
      lines.push(`ry(${beta}) q[${q}];`);
      if (k > 0) {
        const changed = gray(i) ^ gray((i + 1) % blocks);
        lines.push(`cx q[${q + 1 + Math.log2(changed)}], q[${q}];`);
      }
    }
  }
  return lines;
}
