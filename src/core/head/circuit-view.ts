/**
 * The circuit of a quantum head layer as the page draws it: every gate with the angles bound for
 * one input (x from the dense layer before it, the trained weights), in program order.
 */
import { buildProgram, type AngleExpr } from '../quantum/builder.ts';
import { gateByCode } from '../quantum/gates.ts';
import { parseCircuitSpec } from '../quantum/spec.ts';

export interface DrawnOp {
  /** Gate name from the kernel's gate table ('h', 'ry', 'cx', 'zz', …); 'amplitude' for the state preparation. */
  name: string;
  qubits: number[];
  /** Bound angles in radians. */
  angles: number[];
}

export interface CircuitView {
  nQubits: number;
  ops: DrawnOp[];
  readout: string;
}

function bind(e: AngleExpr, x: ArrayLike<number>, w: ArrayLike<number>): number {
  switch (e.kind) {
    case 'const':
      return e.value;
    case 'x':
      return e.scale * x[e.index];
    case 'w':
      return w[e.index];
    case 'zz':
      return e.alpha * (Math.PI - x[e.i]) * (Math.PI - x[e.j]);
  }
}

export function circuitView(circuit: unknown, x: ArrayLike<number>, weights: ArrayLike<number>): CircuitView {
  const program = buildProgram(parseCircuitSpec(circuit));
  const ops: DrawnOp[] = [];
  if (program.amplitude)
    ops.push({ name: 'amplitude', qubits: Array.from({ length: program.nQubits }, (_, q) => q), angles: [] });
  for (const op of program.ops) {
    const def = gateByCode(op.gate);
    const angles = Array.from({ length: def.nParams }, (_, k) => bind(program.angles[op.slot + k], x, weights));
    ops.push({ name: def.name, qubits: def.arity === 2 ? [op.qubits[0], op.qubits[1]] : [op.qubits[0]], angles });
  }
  return { nQubits: program.nQubits, ops, readout: program.readout };
}
