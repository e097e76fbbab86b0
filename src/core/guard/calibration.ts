/**
 * Platt scaling (Platt 1999) of a model's P(positive), fitted on validation by training/guards.py:
 * P_cal = σ(a · logit(P) + b). Monotone for a > 0, so the class at the manifest's threshold is unchanged;
 * the threshold maps to σ(a · logit(t) + b) on the calibrated scale.
 */
export interface Calibration {
  method: 'platt';
  a: number;
  b: number;
  /** Where it was fitted, for the model card ("validation split, n = 78"). */
  fitted_on: string;
  /** Expected calibration error (10 equal-width bins) on that data, before and after. */
  ece_before: number;
  ece_after: number;
}

const logit = (p: number) => Math.log(p) - Math.log1p(-p);

/** Calibrated probability; P is clamped away from 0 and 1 so a saturated model stays finite. */
export function calibrate(probability: number, c: Calibration): number {
  const p = Math.min(Math.max(probability, 1e-12), 1 - 1e-12);
  return 1 / (1 + Math.exp(-(c.a * logit(p) + c.b)));
}
