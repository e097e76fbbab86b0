/**
 * OpenQASM 3 export of a circuit with its parameters bound (stdgates.inc only), so a researcher
 * can run one scan's head on hardware. X-basis readouts get an H on every qubit before measuring;
 * for `xz` the listing measures Z and says how to get X. Amplitude embedding (state preparation)
 * has no stdgates form and is refused with a clear error.
 */
import { gateByCode } from './gates.ts';
import { CircuitInputError, compile } from './simulator.ts';
import type { CircuitSpec } from './spec.ts';

/** OpenQASM 3 text of spec with inputs x (one sample) and weights bound. */
export function toQasm3(spec: CircuitSpec, x: Float64Array | readonly number[], weights: Float64Array | readonly number[]): string {
  const { program } = compile(spec);
  if (program.amplitude) throw new CircuitInputError('OpenQASM export does not support amplitude embedding (state preparation is not in stdgates.inc)');
  if (x.length !== program.nInputs) throw new CircuitInputError(`x: expected ${program.nInputs} values, got ${x.length}`);
  if (weights.length !== program.nWeights) throw new CircuitInputError(`weights: expected ${program.nWeights} values, got ${weights.length}`);
  [...x].forEach((v, i) => { if (!Number.isFinite(v)) throw new CircuitInputError(`x[${i}] is ${v}`); });
  [...weights].forEach((v, i) => { if (!Number.isFinite(v)) throw new CircuitInputError(`weights[${i}] is ${v}`); });
  const angle = (slot: number): number => {
    const e = program.angles[slot];
    switch (e.kind) {
      case 'const': return e.value;
      case 'x': return e.scale * x[e.index];
      case 'w': return weights[e.index];
      case 'zz': return e.alpha * (Math.PI - x[e.i]) * (Math.PI - x[e.j]);
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
  if (spec.readout === 'xz') lines.push('// xz readout: these shots give ⟨Z_i⟩; for ⟨X_i⟩ run again with h on every qubit before measuring');
  lines.push('c = measure q;');
  return `${lines.join('\n')}\n`;
}
