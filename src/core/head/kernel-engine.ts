/**
 * Quantum head layers on the WASM statevector kernel (src/core/quantum): forward readouts and,
 * for Grad-CAM, adjoint gradients w.r.t. the layer's input; plus what the quantum panel shows
 * (⟨Z⟩, ⟨X⟩, basis-state probabilities, exact or seeded shots, OpenQASM 3).
 */
import {
  circuitShape,
  loadKernel,
  parseCircuitSpec,
  toQasm3,
  type CircuitSpec,
  type QuantumKernel,
} from '../quantum/index.ts';
import { HeadError, type QuantumLayer } from './spec.ts';
import type { QuantumEngineFactory } from './index.ts';

const kernels = new Map<string, Promise<QuantumKernel>>();

/** One kernel instance per source (node: kernel/build/kernel.wasm; page: the bundled wasm URL). */
export function kernelFrom(source?: string): Promise<QuantumKernel> {
  const key = source ?? '';
  let k = kernels.get(key);
  if (!k) {
    k = loadKernel(source);
    kernels.set(key, k);
    k.catch(() => kernels.delete(key));
  }
  return k;
}

/** The layer's circuit parsed and checked against its stored weights. */
export function layerSpec(layer: QuantumLayer): { spec: CircuitSpec; nInputs: number; nOutputs: number } {
  let spec: CircuitSpec;
  try {
    spec = parseCircuitSpec(layer.circuit);
  } catch (err) {
    throw new HeadError(`head.json quantum layer: ${(err as Error).message}`);
  }
  const shape = circuitShape(spec);
  if (shape.nWeights !== layer.weights.length) {
    throw new HeadError(
      `head.json quantum layer: the circuit takes ${shape.nWeights} weights, the layer stores ${layer.weights.length}`,
    );
  }
  return { spec, nInputs: shape.nInputs, nOutputs: shape.nOutputs };
}

export function kernelEngineFactory(kernelSource?: string): QuantumEngineFactory {
  return async (layer) => {
    const kernel = await kernelFrom(kernelSource);
    const { spec, nInputs, nOutputs } = layerSpec(layer);
    return {
      inputs: nInputs,
      outputs: nOutputs,
      forward: async (x) => kernel.forward(spec, x, layer.weights),
      backward: async (x, outGrad) => kernel.backward(spec, x, layer.weights, outGrad).gradX,
    };
  };
}

export interface QuantumDetails {
  /** ⟨Z_q⟩ and ⟨X_q⟩ per qubit. */
  z: number[];
  x: number[];
  /** Basis-state probabilities, index in Qiskit order (qubit 0 = least significant bit). */
  probabilities: number[];
  /** The layer's own readout (what the head used), exact or from shots. */
  readout: number[];
  /** OpenQASM 3 text, or why it cannot be written (amplitude embedding). */
  qasm: string;
  shots: number | null;
}

/** Everything the quantum panel shows for one input, exact (shots = null) or from seeded shots. */
export async function quantumDetails(
  layer: QuantumLayer,
  input: Float64Array,
  shots: { count: number; seed: number } | null,
  kernelSource?: string,
): Promise<QuantumDetails> {
  const kernel = await kernelFrom(kernelSource);
  const { spec } = layerSpec(layer);
  const as = (readout: CircuitSpec['readout']): CircuitSpec => ({ ...spec, readout });
  const w = layer.weights;
  const run = (s: CircuitSpec) =>
    Array.from(shots ? kernel.sample(s, input, w, shots.count, shots.seed) : kernel.forward(s, input, w));
  let qasm: string;
  try {
    qasm = toQasm3(spec, input, w);
  } catch (err) {
    qasm = `// ${(err as Error).message}`;
  }
  return {
    z: run(as('z')),
    x: run(as('x')),
    probabilities: run(as('probs')),
    readout: run(spec),
    qasm,
    shots: shots ? shots.count : null,
  };
}
