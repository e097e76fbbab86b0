/**
 * In-distribution check: the Mahalanobis distance of the backbone's pooled features to the training
 * features (Lee et al., NeurIPS 2018, on the penultimate layer), fitted by training/guards.py. The
 * bundle stores the training mean and a whitening matrix W (shrunk covariance: W Σ Wᵀ = I), so the
 * score is ‖W (x − μ)‖ / √F: about 1 for a typical training scan whatever the feature count F.
 */
export interface OodModel {
  method: 'mahalanobis';
  mean: number[];
  /** F × F rows of the whitening matrix. */
  whitening: number[][];
  /** Scores above this are out of distribution; set so that `validation_pass_rate` of validation scans pass. */
  threshold: number;
  validation_pass_rate: number;
  fitted_on: string;
}

export function oodScore(features: ArrayLike<number>, m: OodModel): number {
  const f = m.mean.length;
  if (features.length !== f) throw new Error(`OOD check expects ${f} features, the backbone gave ${features.length}`);
  const centred = new Float64Array(f);
  for (let i = 0; i < f; i++) centred[i] = features[i] - m.mean[i];
  let sum = 0;
  for (const row of m.whitening) {
    let z = 0;
    for (let i = 0; i < f; i++) z += row[i] * centred[i];
    sum += z * z;
  }
  return Math.sqrt(sum / f);
}
