/**
 * The numbers a site sees before and after adaptation, as training/evaluate.py computes them: the
 * Mann–Whitney AUC, accuracy at a threshold, the threshold by Youden's J, and 95 % intervals by a
 * stratified percentile bootstrap (cases resampled with replacement within each class).
 */
import { mulberry32 } from '../random.ts';

/** Mann–Whitney AUC (ties count ½); NaN when a class is missing. */
export function auc(y: ArrayLike<number>, p: ArrayLike<number>): number {
  let pairs = 0;
  let wins = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      wins += p[i] > p[j] ? 1 : p[i] === p[j] ? 0.5 : 0;
    }
  }
  return pairs ? wins / pairs : NaN;
}

/** Fraction of scans whose class at `threshold` (P ≥ threshold is positive) is their label. */
export function accuracy(y: ArrayLike<number>, p: ArrayLike<number>, threshold: number): number {
  let right = 0;
  for (let i = 0; i < y.length; i++) right += Number((p[i] >= threshold ? 1 : 0) === y[i]);
  return right / y.length;
}

function sensSpec(y: ArrayLike<number>, p: ArrayLike<number>, t: number): number {
  let tp = 0,
    fn = 0,
    tn = 0,
    fp = 0;
  for (let i = 0; i < y.length; i++) {
    const call = p[i] >= t;
    if (y[i] === 1) call ? tp++ : fn++;
    else call ? fp++ : tn++;
  }
  return (tp + fn ? tp / (tp + fn) : 0) + (tn + fp ? tn / (tn + fp) : 0);
}

/**
 * Youden's J maximised over midpoints between neighbouring scores (and 0.5), ties to the one closest
 * to 0.5, clamped to [1e-6, 1 − 1e-6]: training/evaluate.py choose_threshold.
 */
export function youdenThreshold(y: ArrayLike<number>, p: ArrayLike<number>): number {
  const s = [...new Set(Array.from(p))].sort((a, b) => a - b);
  const candidates = [0.5, ...s.slice(1).map((v, i) => (s[i] + v) / 2)];
  let best = 0.5;
  let bestJ = -Infinity;
  for (const t of candidates) {
    const j = sensSpec(y, p, t);
    if (j > bestJ || (j === bestJ && Math.abs(t - 0.5) < Math.abs(best - 0.5))) {
      best = t;
      bestJ = j;
    }
  }
  return Math.min(Math.max(best, 1e-6), 1 - 1e-6);
}

/** The q-th percentile (0–100) of sorted values, linear between ranks (numpy's default). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const pos = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export interface Interval {
  value: number;
  /** 95 % percentile bootstrap interval. */
  ci95: [number, number];
}

export interface ScoreSummary {
  auc: Interval;
  acc: Interval;
}

/** AUC and accuracy at `threshold` with stratified-bootstrap 95 % intervals, reproducible for a seed. */
export function summarize(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  threshold: number,
  seed: number,
  resamples = 2000,
): ScoreSummary {
  const rand = mulberry32(seed);
  const pos = Array.from(y).flatMap((v, i) => (v === 1 ? [i] : []));
  const neg = Array.from(y).flatMap((v, i) => (v === 0 ? [i] : []));
  const draw = (from: number[]): number[] => from.map(() => from[Math.floor(rand() * from.length)]);
  const aucs: number[] = [];
  const accs: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const idx = [...draw(pos), ...draw(neg)];
    const yy = idx.map((i) => y[i]);
    const pp = idx.map((i) => p[i]);
    const a = auc(yy, pp);
    if (!Number.isNaN(a)) aucs.push(a);
    accs.push(accuracy(yy, pp, threshold));
  }
  const interval = (value: number, samples: number[]): Interval => {
    const s = Float64Array.from(samples).sort();
    return { value, ci95: s.length ? [percentile(s, 2.5), percentile(s, 97.5)] : [NaN, NaN] };
  };
  return { auc: interval(auc(y, p), aucs), acc: interval(accuracy(y, p, threshold), accs) };
}
