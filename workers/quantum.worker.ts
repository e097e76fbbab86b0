/**
 * The quantum worker (comlink): the circuit API of src/core/quantum as plain async functions,
 * exposed once; the page types them with `typeof api`. The kernel loads lazily from the bundled
 * wasm URL on first use; result buffers are transferred, not copied. Specs cross the boundary as
 * JSON and are validated here (CircuitSpecError messages reach the caller unchanged).
 */
import * as Comlink from 'comlink';
import kernelUrl from '../kernel/build/kernel.wasm?url';
import { circuitShape, loadKernel, parseCircuitSpec, toQasm3, type QuantumKernel } from '../src/core/quantum/index.ts';

let kernel: Promise<QuantumKernel> | null = null;

function getKernel(): Promise<QuantumKernel> {
  if (!kernel) {
    kernel = loadKernel(new URL(kernelUrl, self.location.href));
    kernel.catch(() => { kernel = null; });
  }
  return kernel;
}

const api = {
  /** Sizes of x, weights and outputs for a spec. */
  async shape(spec: unknown) {
    return circuitShape(parseCircuitSpec(spec));
  },
  /** Readouts for a batch (batch × nOutputs). */
  async forward(spec: unknown, x: Float64Array, weights: Float64Array, batch?: number) {
    const out = (await getKernel()).forward(parseCircuitSpec(spec), x, weights, batch);
    return Comlink.transfer(out, [out.buffer]);
  },
  /** Outputs plus adjoint gradients of Σ outGrad·outputs. */
  async backward(spec: unknown, x: Float64Array, weights: Float64Array, outGrad: Float64Array, batch?: number) {
    const r = (await getKernel()).backward(parseCircuitSpec(spec), x, weights, outGrad, batch);
    return Comlink.transfer(r, [r.outputs.buffer, r.gradX.buffer, r.gradWeights.buffer]);
  },
  /** The readout estimated from seeded shots (one sample). */
  async sample(spec: unknown, x: Float64Array, weights: Float64Array, shots: number, seed: number) {
    const out = (await getKernel()).sample(parseCircuitSpec(spec), x, weights, shots, seed);
    return Comlink.transfer(out, [out.buffer]);
  },
  /** The 2^n basis-state probabilities (one sample). */
  async probabilities(spec: unknown, x: Float64Array, weights: Float64Array) {
    const out = (await getKernel()).probabilities(parseCircuitSpec(spec), x, weights);
    return Comlink.transfer(out, [out.buffer]);
  },
  /** OpenQASM 3 text with the parameters bound. */
  async qasm(spec: unknown, x: Float64Array, weights: Float64Array) {
    return toQasm3(parseCircuitSpec(spec), x, weights);
  },
};

export type QuantumWorkerApi = typeof api;

Comlink.expose(api);
