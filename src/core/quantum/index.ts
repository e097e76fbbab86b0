/**
 * QuMRI's quantum API (facade): circuit specs, the statevector kernel (WASM, or the plain
 * TypeScript reference), gradients, shots and OpenQASM 3 export. See kernel/README.md.
 */
import { createSimulator, type QuantumKernel } from './simulator.ts';
import { referenceEngine } from './reference.ts';
import { loadWasmEngine } from './wasm.ts';

export { parseCircuitSpec, circuitShape, CircuitSpecError } from './spec.ts';
export type { CircuitSpec, Layer, Family, Entanglement, ReadoutName, GateOp, GateParam } from './spec.ts';
export { CircuitInputError, createSimulator } from './simulator.ts';
export type { QuantumKernel, BackwardResult } from './simulator.ts';
export { toQasm3 } from './qasm.ts';
export { buildProgram, entanglementPairs } from './builder.ts';
export { GATES, gateByName } from './gates.ts';
export { MAX_QUBITS } from '../../../kernel/assembly/codes.ts';

/**
 * Loads the WASM kernel. Node: defaults to kernel/build/kernel.wasm. Browser: pass the URL from
 * `import kernelUrl from '../../kernel/build/kernel.wasm?url'`.
 */
export async function loadKernel(source?: BufferSource | URL | string): Promise<QuantumKernel> {
  return createSimulator(await loadWasmEngine(source));
}

/** The same API on the plain-TypeScript engine (no WASM needed; slower). */
export function referenceKernel(): QuantumKernel {
  return createSimulator(referenceEngine);
}
