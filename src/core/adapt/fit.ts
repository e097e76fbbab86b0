/** The training loop: full-batch Adam on the head's parameters from the shipped ones, one step per epoch. */
import { adamInit, adamStep } from './adam.ts';
import { lossAndGrad, type HeadNet } from './backprop.ts';

export interface TrainOptions {
  epochs: number;
  lr: number;
  /** Weight of ‖θ − θ₀‖² in the loss. */
  l2: number;
}

/**
 * θ after `opts.epochs` steps from θ₀ on (x, y). `after(epoch, θ)` sees θ₀ (epoch 0) and the
 * parameters after every step, which is where cross-validation reads its held-out loss.
 */
export function train(
  net: HeadNet,
  theta0: Float64Array,
  x: Float64Array,
  y: Uint8Array,
  opts: TrainOptions,
  after?: (epoch: number, theta: Float64Array) => void,
): Float64Array {
  const anchor = { theta0, l2: opts.l2 };
  let theta: Float64Array = theta0.slice();
  let adam = adamInit(theta.length);
  after?.(0, theta);
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const { grad } = lossAndGrad(net, theta, x, y, anchor);
    ({ theta, state: adam } = adamStep(theta, grad, adam, { lr: opts.lr }));
    after?.(epoch, theta);
  }
  return theta;
}
