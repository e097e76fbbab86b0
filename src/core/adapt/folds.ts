/**
 * Cross-validation folds over the given scans: leave-one-out while there are few (every scan is held
 * out once, no randomness), else k folds stratified by class, shuffled by the seed.
 */
import { mulberry32 } from '../random.ts';

/** Up to this many scans, leave-one-out: each fit is cheap and every other scan trains. */
export const LOO_MAX = 24;

export interface Folds {
  /** Fold of each scan, 0 … k − 1. */
  fold: Int32Array;
  k: number;
  /** In words, for the model card. */
  scheme: string;
}

/** Fisher–Yates with a seeded stream. */
function shuffled(items: number[], rand: () => number): number[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

export function assignFolds(y: ArrayLike<number>, seed: number, k = 5): Folds {
  const n = y.length;
  if (n < 2) throw new Error(`cross-validation needs at least 2 scans, got ${n}`);
  if (n <= LOO_MAX)
    return { fold: Int32Array.from({ length: n }, (_, i) => i), k: n, scheme: `leave-one-out (${n} folds)` };
  const rand = mulberry32(seed);
  const fold = new Int32Array(n);
  // Deal each class's shuffled scans round-robin, continuing the rotation across classes, so fold sizes differ by at most one.
  let next = 0;
  for (const cls of [0, 1]) {
    const members = shuffled(
      Array.from({ length: n }, (_, i) => i).filter((i) => y[i] === cls),
      rand,
    );
    for (const i of members) fold[i] = next++ % k;
  }
  return { fold, k, scheme: `${k}-fold stratified (seed ${seed})` };
}
