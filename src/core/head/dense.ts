/**
 * Pure dense-layer numerics for the head: y = activation(W·x + b) and its vector–Jacobian product
 * (the backward pass Grad-CAM needs: ∂score/∂x from ∂score/∂y).
 */
import type { Activation, DenseLayer } from './spec.ts';

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** W·x + b, before the activation. */
export function affine(layer: DenseLayer, x: Float64Array): Float64Array {
  const z = new Float64Array(layer.out);
  for (let r = 0; r < layer.out; r++) {
    let s = layer.bias[r];
    const row = r * layer.in;
    for (let c = 0; c < layer.in; c++) s += layer.weight[row + c] * x[c];
    z[r] = s;
  }
  return z;
}

export function activate(kind: Activation, z: Float64Array): Float64Array {
  switch (kind) {
    case 'none':
      return z.slice();
    case 'relu':
      return z.map((v) => (v > 0 ? v : 0));
    case 'sigmoid':
      return z.map(sigmoid);
    case 'tanh':
      return z.map(Math.tanh);
    case 'sigmoid_pi':
      return z.map((v) => Math.PI * sigmoid(v));
    case 'sigmoid_l2': {
      const s = z.map(sigmoid);
      const norm = Math.hypot(...s);
      return s.map((v) => v / norm);
    }
  }
}

/** ∂L/∂z from ∂L/∂y for y = activation(z). */
export function activateBackward(kind: Activation, z: Float64Array, gy: Float64Array): Float64Array {
  switch (kind) {
    case 'none':
      return gy.slice();
    case 'relu':
      return gy.map((g, i) => (z[i] > 0 ? g : 0));
    case 'sigmoid':
      return gy.map((g, i) => g * sigmoid(z[i]) * (1 - sigmoid(z[i])));
    case 'tanh':
      return gy.map((g, i) => g * (1 - Math.tanh(z[i]) ** 2));
    case 'sigmoid_pi':
      return gy.map((g, i) => g * Math.PI * sigmoid(z[i]) * (1 - sigmoid(z[i])));
    case 'sigmoid_l2': {
      // y = s/‖s‖: ∂L/∂s = (g − y·(y·g)) / ‖s‖, then through the sigmoid.
      const s = z.map(sigmoid);
      const norm = Math.hypot(...s);
      const y = s.map((v) => v / norm);
      let yg = 0;
      for (let i = 0; i < y.length; i++) yg += y[i] * gy[i];
      return gy.map((g, i) => ((g - y[i] * yg) / norm) * s[i] * (1 - s[i]));
    }
  }
}

/** ∂L/∂x = Wᵀ·∂L/∂z. */
export function affineBackward(layer: DenseLayer, gz: Float64Array): Float64Array {
  const gx = new Float64Array(layer.in);
  for (let r = 0; r < layer.out; r++) {
    const row = r * layer.in;
    for (let c = 0; c < layer.in; c++) gx[c] += layer.weight[row + c] * gz[r];
  }
  return gx;
}
