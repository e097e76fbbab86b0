/**
 * The head's trainable numbers as one flat vector θ (what Adam and the L2 anchor work on), and back:
 * per layer in order, a dense layer's weight (row-major [out][in]) then its bias, a quantum layer's
 * circuit weights; pair_logits has none.
 */
import type { DenseLayer, HeadSpec, QuantumLayer } from '../head/spec.ts';

/** Where one layer's parameters sit in θ; `bias` is 0 for quantum layers. */
export interface ParamSlot {
  offset: number;
  weights: number;
  bias: number;
}

export interface ParamLayout {
  /** Per layer; null for layers without parameters. */
  slots: (ParamSlot | null)[];
  size: number;
}

export function paramLayout(spec: HeadSpec): ParamLayout {
  let offset = 0;
  const slots = spec.layers.map((l): ParamSlot | null => {
    if (l.type === 'pair_logits') return null;
    const slot =
      l.type === 'dense'
        ? { offset, weights: l.weight.length, bias: l.bias.length }
        : { offset, weights: l.weights.length, bias: 0 };
    offset += slot.weights + slot.bias;
    return slot;
  });
  return { slots, size: offset };
}

/** θ of a head as stored. */
export function flattenParams(spec: HeadSpec): Float64Array {
  const { slots, size } = paramLayout(spec);
  const theta = new Float64Array(size);
  spec.layers.forEach((l, i) => {
    const s = slots[i];
    if (!s) return;
    if (l.type === 'dense') {
      theta.set(l.weight, s.offset);
      theta.set(l.bias, s.offset + s.weights);
    } else if (l.type === 'quantum') theta.set(l.weights, s.offset);
  });
  return theta;
}

/** A dense layer whose weight and bias are views into θ (no copy: the training loop's hot path). */
export function denseView(l: DenseLayer, s: ParamSlot, theta: Float64Array): DenseLayer {
  return {
    ...l,
    weight: theta.subarray(s.offset, s.offset + s.weights),
    bias: theta.subarray(s.offset + s.weights, s.offset + s.weights + s.bias),
  };
}

export const quantumView = (s: ParamSlot, theta: Float64Array): Float64Array =>
  theta.subarray(s.offset, s.offset + s.weights);

/** The same head carrying θ (copied, so the result does not change when θ does). */
export function withParams(spec: HeadSpec, theta: Float64Array): HeadSpec {
  const { slots, size } = paramLayout(spec);
  if (theta.length !== size) throw new Error(`head parameters: expected ${size} numbers, got ${theta.length}`);
  const own = theta.slice();
  return {
    layers: spec.layers.map((l, i) => {
      const s = slots[i];
      if (!s || l.type === 'pair_logits') return l;
      if (l.type === 'dense') return denseView(l, s, own);
      return { ...l, weights: quantumView(s, own) } satisfies QuantumLayer;
    }),
  };
}
