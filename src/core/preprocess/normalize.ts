/** Step 4: intensity normalisation inside the brain, clipped to [0, 1]; background 0. */
import type { PreprocessSpec } from './spec.ts';
import { maskedPercentiles } from './stats.ts';

/**
 * The raw intensities sent to 0 and 1. `percentile`: the `low` and `high` percentiles. `reference`: the
 * `low` percentile to 0 and the `reference` percentile to `value`, so the top is lo + (ref − lo) / value.
 * `reference` exists because a high percentile moves with the lesions: clipping at p99.5 flattens a lesion
 * load of ~0.5 % of the brain into the brightest normal tissue, and removing the lesions rescales the
 * whole scan. The median does not move with a few percent of bright voxels.
 */
export function normalizationRange(
  data: Float32Array,
  mask: Uint8Array,
  rule: PreprocessSpec['normalize'],
): [number, number] {
  if (rule.method === 'percentile') {
    const [lo, hi] = maskedPercentiles(data, mask, [rule.low, rule.high]);
    return [lo, hi];
  }
  const [lo, ref] = maskedPercentiles(data, mask, [rule.low, rule.reference]);
  return [lo, lo + (ref - lo) / rule.value];
}

export function normalizeInMask(
  data: Float32Array,
  mask: Uint8Array,
  rule: PreprocessSpec['normalize'],
): { data: Float32Array; range: [number, number] } {
  if (data.length !== mask.length) throw new Error(`normalize: data has ${data.length} voxels, mask ${mask.length}`);
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  if (n === 0) throw new Error('normalize: the brain mask is empty on the model grid');
  const [lo, hi] = normalizationRange(data, mask, rule);
  if (!(hi > lo)) throw new Error(`normalize: intensities inside the brain are constant (${lo}); nothing to scale`);
  const out = new Float32Array(data.length);
  const inv = 1 / (hi - lo);
  for (let i = 0; i < data.length; i++) {
    if (!mask[i]) continue;
    const v = (data[i] - lo) * inv;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return { data: out, range: [lo, hi] };
}
