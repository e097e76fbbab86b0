/**
 * Fitting the guard's Platt calibration (src/core/guard/calibration.ts applies it) on the adapted
 * head's cross-validated predictions: the same Newton fit and ECE as training/guards.py, so the
 * adapted bundle's calibration means what a shipped bundle's does.
 */
import { calibrate, type Calibration } from '../guard/calibration.ts';

const EPS = 1e-12;
const logit = (p: number): number => {
  const q = Math.min(Math.max(p, EPS), 1 - EPS);
  return Math.log(q) - Math.log1p(-q);
};

/**
 * (a, b) minimising the log loss of σ(a·logit(p) + b) by Newton's method on 2 parameters; a small
 * L2 on (a − 1, b) keeps a separable set finite (training/guards.py fit_platt).
 */
export function fitPlatt(p: ArrayLike<number>, y: ArrayLike<number>, l2 = 1e-3, iters = 100): { a: number; b: number } {
  const n = p.length;
  const x = Array.from(p, logit);
  if (new Set(Array.from(y)).size < 2) throw new Error('Platt scaling needs both classes in the calibration set');
  let a = 1;
  let b = 0;
  for (let it = 0; it < iters; it++) {
    let ga = l2 * n * (a - 1),
      gb = l2 * n * b;
    let haa = l2 * n,
      hab = 0,
      hbb = l2 * n;
    for (let i = 0; i < n; i++) {
      const q = 1 / (1 + Math.exp(-(a * x[i] + b)));
      const w = q * (1 - q);
      ga += x[i] * (q - y[i]);
      gb += q - y[i];
      haa += x[i] * x[i] * w;
      hab += x[i] * w;
      hbb += w;
    }
    // Solve the 2×2 system H·step = g.
    const det = haa * hbb - hab * hab;
    const sa = (hbb * ga - hab * gb) / det;
    const sb = (haa * gb - hab * ga) / det;
    a -= sa;
    b -= sb;
    if (Math.max(Math.abs(sa), Math.abs(sb)) < 1e-12) break;
  }
  if (!(a > 0))
    throw new Error(`Platt slope ${a.toPrecision(3)} ≤ 0: the probabilities are not ordered with the labels`);
  return { a, b };
}

/** Expected calibration error over 10 equal-width bins: Σ n_b/N · |positive rate_b − mean P_b|. */
export function ece(p: ArrayLike<number>, y: ArrayLike<number>, bins = 10): number {
  const n = new Float64Array(bins),
    sp = new Float64Array(bins),
    sy = new Float64Array(bins);
  for (let i = 0; i < p.length; i++) {
    const k = Math.min(Math.floor(p[i] * bins), bins - 1);
    n[k]++;
    sp[k] += p[i];
    sy[k] += y[i];
  }
  let e = 0;
  for (let k = 0; k < bins; k++) if (n[k]) e += (n[k] / p.length) * Math.abs(sy[k] / n[k] - sp[k] / n[k]);
  return e;
}

/** manifest.json's `calibration`, fitted on (p, y). */
export function plattCalibration(p: ArrayLike<number>, y: ArrayLike<number>, fittedOn: string): Calibration {
  const { a, b } = fitPlatt(p, y);
  const c: Calibration = { method: 'platt', a, b, fitted_on: fittedOn, ece_before: ece(p, y), ece_after: 0 };
  c.ece_after = ece(
    Array.from(p, (v) => calibrate(v, c)),
    y,
  );
  return c;
}
