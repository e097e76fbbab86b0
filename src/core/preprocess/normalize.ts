/** Step 4: percentile normalisation inside the brain: low → 0, high → 1, clipped; background 0. */
import { maskedPercentiles } from './stats.ts';

export function normalizeInMask(
  data: Float32Array,
  mask: Uint8Array,
  low: number,
  high: number,
): { data: Float32Array; range: [number, number] } {
  if (data.length !== mask.length) throw new Error(`normalize: data has ${data.length} voxels, mask ${mask.length}`);
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  if (n === 0) throw new Error('normalize: the brain mask is empty on the model grid');
  const [lo, hi] = maskedPercentiles(data, mask, [low, high]);
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
