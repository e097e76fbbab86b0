/**
 * The head after the backbone as one runnable object: dense layers in TypeScript, quantum layers
 * through an injected engine (the WASM kernel), pair_logits; forward keeps a trace so backward can
 * return ∂score/∂features for Grad-CAM.
 */
import { activate, activateBackward, affine, affineBackward } from './dense.ts';
import { HeadError, headWidths, type HeadSpec, type QuantumLayer } from './spec.ts';

export * from './spec.ts';

/** One quantum layer bound to its trained weights. */
export interface QuantumEngine {
  /** Input features the circuit's encoders consume. */
  readonly inputs: number;
  /** Circuit output width (depends on the readout). */
  readonly outputs: number;
  forward(x: Float64Array): Promise<Float64Array>;
  /** ∂L/∂x at input x given ∂L/∂outputs (adjoint differentiation in the kernel). */
  backward(x: Float64Array, outGrad: Float64Array): Promise<Float64Array>;
}

export type QuantumEngineFactory = (layer: QuantumLayer) => Promise<QuantumEngine>;

export interface HeadTrace {
  /** The vector entering each layer. */
  inputs: Float64Array[];
  /** Each dense layer's pre-activation (undefined for other layers). */
  pre: (Float64Array | undefined)[];
  /** Each quantum layer's outputs (undefined for other layers), for the quantum panel. */
  quantum: (Float64Array | undefined)[];
  logits: Float64Array;
}

export interface Head {
  readonly spec: HeadSpec;
  forward(features: ArrayLike<number>): Promise<HeadTrace>;
  /** ∂(logits·gLogits)/∂features, walking the trace backwards. */
  backward(trace: HeadTrace, gLogits: ArrayLike<number>): Promise<Float64Array>;
}

/**
 * Binds a parsed head to quantum engines and checks its widths chain from the feature width (the
 * first layer's input unless given) to 2 logits.
 */
export async function createHead(
  spec: HeadSpec,
  engineFor: QuantumEngineFactory,
  featureWidth?: number,
): Promise<Head> {
  const engines = await Promise.all(
    spec.layers.map((l) => (l.type === 'quantum' ? engineFor(l) : Promise.resolve(undefined))),
  );
  const first = spec.layers[0];
  featureWidth ??= first.type === 'dense' ? first.in : first.type === 'quantum' ? engines[0]!.inputs : 1;
  headWidths(spec, featureWidth, (l, w) => {
    const e = engines[spec.layers.indexOf(l)]!;
    if (w !== e.inputs) throw new HeadError(`head.json: the quantum layer takes ${e.inputs} inputs but receives ${w}`);
    return e.outputs;
  });

  async function forward(features: ArrayLike<number>): Promise<HeadTrace> {
    if (features.length !== featureWidth)
      throw new Error(`head: expected ${featureWidth} features, got ${features.length}`);
    const trace: HeadTrace = { inputs: [], pre: [], quantum: [], logits: new Float64Array(0) };
    let x: Float64Array = Float64Array.from(features);
    for (const [i, l] of spec.layers.entries()) {
      trace.inputs.push(x);
      trace.pre.push(undefined);
      trace.quantum.push(undefined);
      if (l.type === 'dense') {
        const z = affine(l, x);
        trace.pre[i] = z;
        x = activate(l.activation, z);
      } else if (l.type === 'quantum') {
        x = await engines[i]!.forward(x);
        trace.quantum[i] = x;
      } else {
        x = Float64Array.of(x[0], 1 - x[0]);
      }
    }
    trace.logits = x;
    return trace;
  }

  async function backward(trace: HeadTrace, gLogits: ArrayLike<number>): Promise<Float64Array> {
    let g: Float64Array = Float64Array.from(gLogits);
    for (let i = spec.layers.length - 1; i >= 0; i--) {
      const l = spec.layers[i];
      if (l.type === 'dense') g = affineBackward(l, activateBackward(l.activation, trace.pre[i]!, g));
      else if (l.type === 'quantum') g = await engines[i]!.backward(trace.inputs[i], g);
      else g = Float64Array.of(g[0] - g[1]);
    }
    return g;
  }

  return { spec, forward, backward };
}

/** Probability of the positive class (classes[1]) = softmax(logits)[1]. */
export function positiveProbability(logits: ArrayLike<number>): number {
  return 1 / (1 + Math.exp(logits[0] - logits[1]));
}

/** ∂/∂logits of the log-odds of `cls` (l_cls − l_other): the score Grad-CAM explains. */
export function logOddsGrad(cls: 0 | 1): Float64Array {
  return cls === 1 ? Float64Array.of(-1, 1) : Float64Array.of(1, -1);
}
