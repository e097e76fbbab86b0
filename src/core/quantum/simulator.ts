/**
 * The typed quantum API over an Engine: spec + inputs + weights in, readouts and gradients out.
 * It compiles a spec once (cached per spec object), turns a batch of inputs into angles,
 * runs the engine once for the whole batch, and applies the chain rule from angle gradients back
 * to inputs (including through amplitude-embedding normalisation) and weights.
 */
import { Gate, Readout } from '../../../kernel/assembly/codes.ts';
import { type AngleExpr, type Program, buildProgram } from './builder.ts';
import { type Engine, type PackedProgram, packOps } from './engine.ts';
import { parityFromCounts, sampleCounts, xoshiro128ss, zFromCounts } from './shots.ts';
import type { CircuitSpec, ReadoutName } from './spec.ts';

export interface BackwardResult {
  outputs: Float64Array;
  /** batch × nInputs. */
  gradX: Float64Array;
  /** nWeights, summed over the batch. */
  gradWeights: Float64Array;
}

export interface QuantumKernel {
  /** Which engine runs the circuits ('wasm' or 'typescript'). */
  readonly engine: string;
  forward(spec: CircuitSpec, x: Float64Array, weights: Float64Array, batch?: number): Float64Array;
  backward(
    spec: CircuitSpec,
    x: Float64Array,
    weights: Float64Array,
    outGrad: Float64Array,
    batch?: number,
  ): BackwardResult;
  sample(spec: CircuitSpec, x: Float64Array, weights: Float64Array, shots: number, seed: number): Float64Array;
  probabilities(spec: CircuitSpec, x: Float64Array, weights: Float64Array): Float64Array;
}

/** Bad inputs or weights (wrong length, NaN, a zero vector to amplitude-embed). */
export class CircuitInputError extends Error {
  override name = 'CircuitInputError';
}

export const READOUT_CODE: Record<ReadoutName, Readout> = {
  z: Readout.Z,
  x: Readout.X,
  xz: Readout.XZ,
  parity: Readout.PARITY,
  probs: Readout.PROBS,
};

interface Compiled {
  program: Program;
  packed: PackedProgram;
}
const cache = new WeakMap<CircuitSpec, Compiled>();

/** The spec's program, compiled once per spec object. */
export function compile(spec: CircuitSpec): Compiled {
  let c = cache.get(spec);
  if (!c) {
    const program = buildProgram(spec);
    c = { program, packed: packOps(program.nQubits, program.ops, program.angles.length) };
    cache.set(spec, c);
  }
  return c;
}

function batchOf(p: Program, x: Float64Array, batch: number | undefined): number {
  if (batch === undefined && p.nInputs > 0 && (x.length === 0 || x.length % p.nInputs !== 0)) {
    throw new CircuitInputError(`x: expected a multiple of ${p.nInputs} values (one sample each), got ${x.length}`);
  }
  const b = batch ?? (p.nInputs > 0 ? x.length / p.nInputs : 1);
  if (!Number.isInteger(b) || b < 1) throw new CircuitInputError(`batch ${b} must be a positive integer`);
  if (x.length !== b * p.nInputs)
    throw new CircuitInputError(`x: expected ${b}·${p.nInputs} = ${b * p.nInputs} values, got ${x.length}`);
  return b;
}

function checkFinite(name: string, v: Float64Array, per: number): void {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) {
      throw new CircuitInputError(
        per > 0
          ? `${name}[${i}] (sample ${Math.floor(i / per)}, index ${i % per}) is ${v[i]}`
          : `${name}[${i}] is ${v[i]}`,
      );
    }
  }
}

function validate(p: Program, x: Float64Array, weights: Float64Array, batch?: number): number {
  const b = batchOf(p, x, batch);
  if (weights.length !== p.nWeights)
    throw new CircuitInputError(`weights: expected ${p.nWeights} values, got ${weights.length}`);
  checkFinite('x', x, p.nInputs);
  checkFinite('weights', weights, 0);
  return b;
}

function angleValue(e: AngleExpr, x: Float64Array, xo: number, w: Float64Array): number {
  switch (e.kind) {
    case 'const':
      return e.value;
    case 'x':
      return e.scale * x[xo + e.index];
    case 'w':
      return w[e.index];
    case 'zz':
      return e.alpha * (Math.PI - x[xo + e.i]) * (Math.PI - x[xo + e.j]);
  }
}

/** Angles for every sample: batch × nSlots. */
function anglesFor(p: Program, x: Float64Array, w: Float64Array, batch: number): Float64Array {
  const s = p.angles.length;
  const out = new Float64Array(batch * s);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < s; i++) out[b * s + i] = angleValue(p.angles[i], x, b * p.nInputs, w);
  }
  return out;
}

/** Initial states of an amplitude embedding (batch × 2^n complex), with each sample's norm. */
function amplitudeInit(p: Program, x: Float64Array, batch: number): { init: Float64Array; norms: Float64Array } | null {
  const a = p.amplitude;
  if (!a) return null;
  const dim = 2 ** p.nQubits;
  const init = new Float64Array(batch * 2 * dim);
  const norms = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    let sq = 0;
    for (let k = 0; k < dim; k++) {
      const v = k < a.n_features ? x[b * p.nInputs + a.offset + k] : a.pad_with;
      init[2 * (b * dim + k)] = v;
      sq += v * v;
    }
    const norm = Math.sqrt(sq);
    if (a.normalize) {
      if (norm === 0)
        throw new CircuitInputError(`amplitude embedding: sample ${b} is the zero vector and cannot be normalised`);
      for (let k = 0; k < dim; k++) init[2 * (b * dim + k)] /= norm;
    } else if (Math.abs(norm - 1) > 1e-10) {
      throw new CircuitInputError(
        `amplitude embedding: sample ${b} has L2 norm ${norm}, expected 1 (normalize is false)`,
      );
    }
    norms[b] = a.normalize ? norm : 1;
  }
  return { init, norms };
}

/** Chain rule from angle gradients (and the input adjoint state) to gradX and gradWeights. */
function chainRule(
  p: Program,
  x: Float64Array,
  gradAngles: Float64Array,
  amp: { init: Float64Array; norms: Float64Array } | null,
  gradInit: Float64Array | null,
  batch: number,
): { gradX: Float64Array; gradWeights: Float64Array } {
  const gradX = new Float64Array(batch * p.nInputs);
  const gradWeights = new Float64Array(p.nWeights);
  const s = p.angles.length;
  for (let b = 0; b < batch; b++) {
    const xo = b * p.nInputs;
    for (let i = 0; i < s; i++) {
      const g = gradAngles[b * s + i];
      const e = p.angles[i];
      if (e.kind === 'x') gradX[xo + e.index] += g * e.scale;
      else if (e.kind === 'w') gradWeights[e.index] += g;
      else if (e.kind === 'zz') {
        gradX[xo + e.i] -= g * e.alpha * (Math.PI - x[xo + e.j]);
        gradX[xo + e.j] -= g * e.alpha * (Math.PI - x[xo + e.i]);
      }
    }
    if (p.amplitude && amp && gradInit) {
      // v = pad(x)/‖pad(x)‖ (real); dL/dv_k = 2·Re λ_k; dL/dx_k = (g_k − v_k·(g·v))/‖pad(x)‖
      const dim = 2 ** p.nQubits;
      const v = (k: number): number => amp.init[2 * (b * dim + k)];
      const g = (k: number): number => 2 * gradInit[2 * (b * dim + k)];
      let gv = 0;
      if (p.amplitude.normalize) for (let k = 0; k < dim; k++) gv += g(k) * v(k);
      for (let k = 0; k < p.amplitude.n_features; k++) {
        gradX[xo + p.amplitude.offset + k] += (g(k) - v(k) * gv) / amp.norms[b];
      }
    }
  }
  return { gradX, gradWeights };
}

/** The QuantumKernel API over an engine. */
export function createSimulator(engine: Engine): QuantumKernel {
  const probabilitiesOf = (
    spec: CircuitSpec,
    x: Float64Array,
    weights: Float64Array,
    basisX: boolean,
  ): Float64Array => {
    const { program, packed } = compile(spec);
    validate(program, x, weights, 1);
    const amp = amplitudeInit(program, x, 1);
    const hs = basisX
      ? Array.from({ length: program.nQubits }, (_, q) => ({ gate: Gate.H, qubits: [q, 0] as const, slot: -1 }))
      : [];
    const p = basisX ? packOps(program.nQubits, [...program.ops, ...hs], packed.nSlots) : packed;
    return engine.forward(p, anglesFor(program, x, weights, 1), 1, amp?.init ?? null, Readout.PROBS);
  };

  return {
    engine: engine.name,
    forward(spec, x, weights, batch) {
      const { program, packed } = compile(spec);
      const b = validate(program, x, weights, batch);
      const amp = amplitudeInit(program, x, b);
      return engine.forward(
        packed,
        anglesFor(program, x, weights, b),
        b,
        amp?.init ?? null,
        READOUT_CODE[program.readout],
      );
    },
    backward(spec, x, weights, outGrad, batch) {
      const { program, packed } = compile(spec);
      const b = validate(program, x, weights, batch);
      if (outGrad.length !== b * program.nOutputs)
        throw new CircuitInputError(`outGrad: expected ${b * program.nOutputs} values, got ${outGrad.length}`);
      checkFinite('outGrad', outGrad, program.nOutputs);
      const amp = amplitudeInit(program, x, b);
      const r = engine.adjoint(
        packed,
        anglesFor(program, x, weights, b),
        b,
        amp?.init ?? null,
        READOUT_CODE[program.readout],
        outGrad,
      );
      return { outputs: r.out, ...chainRule(program, x, r.gradAngles, amp, r.gradInit, b) };
    },
    probabilities(spec, x, weights) {
      return probabilitiesOf(spec, x, weights, false);
    },
    sample(spec, x, weights, shots, seed) {
      const n = spec.n_qubits;
      const uniform = xoshiro128ss(seed);
      const counts = (basisX: boolean): Float64Array =>
        sampleCounts(probabilitiesOf(spec, x, weights, basisX), shots, uniform);
      switch (spec.readout) {
        case 'z':
          return Float64Array.from(zFromCounts(counts(false), n, shots));
        case 'x':
          return Float64Array.from(zFromCounts(counts(true), n, shots));
        case 'xz': {
          const xs = zFromCounts(counts(true), n, shots);
          return Float64Array.from([...xs, ...zFromCounts(counts(false), n, shots)]);
        }
        case 'parity':
          return Float64Array.of(parityFromCounts(counts(false), shots));
        case 'probs':
          return counts(false).map((c) => c / shots);
      }
    },
  };
}
