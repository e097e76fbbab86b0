/**
 * The head as a function of its parameters θ over a batch of feature vectors: forward to P(positive),
 * and the gradient of the training loss w.r.t. θ. Dense layers by hand-written backprop (head/dense.ts
 * gives each layer's vector–Jacobian product), quantum layers through the kernel's adjoint pass, which
 * returns ∂/∂input per sample and ∂/∂weights summed over the batch in one call.
 *
 * Loss = mean cross-entropy of softmax(logits) (training/train.py's F.cross_entropy, i.e. BCE on the
 * log-odds l₁ − l₀) + l2·‖θ − θ₀‖², θ₀ the shipped weights (train.py's l2_penalty, centred on them).
 */
import { activate, activateBackward, affine, affineBackward } from '../head/dense.ts';
import { headWidths, type HeadSpec } from '../head/spec.ts';
import { layerSpec } from '../head/kernel-engine.ts';
import type { CircuitSpec, QuantumKernel } from '../quantum/index.ts';
import { denseView, paramLayout, quantumView, type ParamLayout } from './params.ts';

/** A head ready to train: its shape, each quantum layer's parsed circuit, and the kernel that runs them. */
export interface HeadNet extends ParamLayout {
  spec: HeadSpec;
  circuits: (CircuitSpec | null)[];
  kernel: QuantumKernel | null;
  featureWidth: number;
  /** Width of each layer's output. */
  widths: number[];
}

export function headNet(spec: HeadSpec, kernel: QuantumKernel | null): HeadNet {
  const circuits = spec.layers.map((l) => (l.type === 'quantum' ? layerSpec(l) : null));
  if (circuits.some((c) => c) && !kernel)
    throw new Error('the head has a quantum layer: adaptation needs the quantum kernel');
  const first = spec.layers[0];
  const featureWidth = first.type === 'dense' ? first.in : first.type === 'quantum' ? circuits[0]!.nInputs : 1;
  const widths = headWidths(spec, featureWidth, (l) => circuits[spec.layers.indexOf(l)]!.nOutputs);
  return { ...paramLayout(spec), spec, circuits: circuits.map((c) => c?.spec ?? null), kernel, featureWidth, widths };
}

/** Each layer's input (batch × width, row-major), each dense layer's pre-activation, and the logits. */
export interface BatchTrace {
  batch: number;
  inputs: Float64Array[];
  pre: (Float64Array | null)[];
  logits: Float64Array;
}

/** `x`: batch × featureWidth, row-major. */
export function forwardBatch(net: HeadNet, theta: Float64Array, x: Float64Array): BatchTrace {
  const batch = x.length / net.featureWidth;
  const trace: BatchTrace = { batch, inputs: [], pre: [], logits: x };
  let h = x;
  net.spec.layers.forEach((l, i) => {
    trace.inputs.push(h);
    trace.pre.push(null);
    const width = net.widths[i];
    const inWidth = h.length / batch;
    const out = new Float64Array(batch * width);
    if (l.type === 'dense') {
      const layer = denseView(l, net.slots[i]!, theta);
      const pre = new Float64Array(batch * width);
      for (let b = 0; b < batch; b++) {
        const z = affine(layer, h.subarray(b * inWidth, (b + 1) * inWidth));
        pre.set(z, b * width);
        out.set(activate(l.activation, z), b * width);
      }
      trace.pre[i] = pre;
    } else if (l.type === 'quantum') {
      out.set(net.kernel!.forward(net.circuits[i]!, h, quantumView(net.slots[i]!, theta), batch));
    } else {
      for (let b = 0; b < batch; b++) out.set([h[b], 1 - h[b]], 2 * b);
    }
    h = out;
  });
  trace.logits = h;
  return trace;
}

/** P(positive) = softmax(logits)[1] per sample. */
export function probabilities(trace: BatchTrace): Float64Array {
  return Float64Array.from(
    { length: trace.batch },
    (_, b) => 1 / (1 + Math.exp(trace.logits[2 * b] - trace.logits[2 * b + 1])),
  );
}

/** ∂(Σ_b gLogits_b · logits_b)/∂θ, walking the trace backwards. */
export function backwardBatch(
  net: HeadNet,
  theta: Float64Array,
  trace: BatchTrace,
  gLogits: Float64Array,
): Float64Array {
  const grad = new Float64Array(net.size);
  const { batch } = trace;
  let g = gLogits;
  for (let i = net.spec.layers.length - 1; i >= 0; i--) {
    const l = net.spec.layers[i];
    const x = trace.inputs[i];
    const inWidth = x.length / batch;
    const outWidth = net.widths[i];
    const gx = new Float64Array(batch * inWidth);
    if (l.type === 'dense') {
      const s = net.slots[i]!;
      const layer = denseView(l, s, theta);
      for (let b = 0; b < batch; b++) {
        const xb = x.subarray(b * inWidth, (b + 1) * inWidth);
        const gz = activateBackward(
          l.activation,
          trace.pre[i]!.subarray(b * outWidth, (b + 1) * outWidth),
          g.subarray(b * outWidth, (b + 1) * outWidth),
        );
        // ∂L/∂W[r][c] = gz[r]·x[c], ∂L/∂b[r] = gz[r]
        for (let r = 0; r < l.out; r++) {
          for (let c = 0; c < l.in; c++) grad[s.offset + r * l.in + c] += gz[r] * xb[c];
          grad[s.offset + s.weights + r] += gz[r];
        }
        gx.set(affineBackward(layer, gz), b * inWidth);
      }
    } else if (l.type === 'quantum') {
      const s = net.slots[i]!;
      const r = net.kernel!.backward(net.circuits[i]!, x, quantumView(s, theta), g, batch);
      grad.set(r.gradWeights, s.offset);
      gx.set(r.gradX);
    } else {
      for (let b = 0; b < batch; b++) gx[b] = g[2 * b] - g[2 * b + 1];
    }
    g = gx;
  }
  return grad;
}

export interface Anchor {
  /** The shipped parameters the L2 term pulls towards. */
  theta0: Float64Array;
  l2: number;
}

export interface LossResult {
  /** Mean cross-entropy + l2·‖θ − θ₀‖². */
  loss: number;
  /** The mean cross-entropy alone. */
  ce: number;
  grad: Float64Array;
  probabilities: Float64Array;
}

/** Mean cross-entropy of softmax(logits) against y (0/1): softplus of the signed log-odds, stable when saturated. */
export function meanCrossEntropy(trace: BatchTrace, y: ArrayLike<number>): number {
  let s = 0;
  for (let b = 0; b < trace.batch; b++) {
    const d = trace.logits[2 * b + 1] - trace.logits[2 * b];
    const m = y[b] ? -d : d;
    s += Math.max(m, 0) + Math.log1p(Math.exp(-Math.abs(m)));
  }
  return s / trace.batch;
}

export function lossAndGrad(
  net: HeadNet,
  theta: Float64Array,
  x: Float64Array,
  y: ArrayLike<number>,
  anchor: Anchor,
): LossResult {
  const trace = forwardBatch(net, theta, x);
  const p = probabilities(trace);
  const batch = trace.batch;
  // ∂CE/∂l₁ = p − y and ∂CE/∂l₀ = −(p − y), averaged over the batch.
  const gLogits = new Float64Array(2 * batch);
  for (let b = 0; b < batch; b++) {
    gLogits[2 * b + 1] = (p[b] - y[b]) / batch;
    gLogits[2 * b] = -(p[b] - y[b]) / batch;
  }
  const grad = backwardBatch(net, theta, trace, gLogits);
  let penalty = 0;
  for (let k = 0; k < theta.length; k++) {
    const d = theta[k] - anchor.theta0[k];
    penalty += d * d;
    grad[k] += 2 * anchor.l2 * d;
  }
  const ce = meanCrossEntropy(trace, y);
  return { loss: ce + anchor.l2 * penalty, ce, grad, probabilities: p };
}
