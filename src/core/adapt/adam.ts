/**
 * Adam (Kingma & Ba 2015) as a pure step: the same update as torch.optim.Adam without weight decay
 * (the L2 pull towards the shipped weights is in the loss instead, backprop.ts).
 */
export interface AdamState {
  m: Float64Array;
  v: Float64Array;
  t: number;
}

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export const adamInit = (n: number): AdamState => ({ m: new Float64Array(n), v: new Float64Array(n), t: 0 });

/** θ and state after one step along `grad`; the inputs are left unchanged. */
export function adamStep(
  theta: Float64Array,
  grad: Float64Array,
  state: AdamState,
  opts: AdamOptions,
): { theta: Float64Array; state: AdamState } {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = opts;
  const t = state.t + 1;
  const m = state.m.map((mk, k) => beta1 * mk + (1 - beta1) * grad[k]);
  const v = state.v.map((vk, k) => beta2 * vk + (1 - beta2) * grad[k] * grad[k]);
  const c1 = 1 - beta1 ** t;
  const c2 = 1 - beta2 ** t;
  const next = theta.map((th, k) => th - (lr * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + eps));
  return { theta: next, state: { m, v, t } };
}
