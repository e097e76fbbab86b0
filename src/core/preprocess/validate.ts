/** Early checks on an input volume, so bad input fails with a message instead of NaNs downstream. */
import type { Volume } from '../volume.ts';

/** Throws naming the bad value; returns the intensity range of a usable volume. */
export function validateVolume(v: Volume): { min: number; max: number } {
  const [nx, ny, nz] = v.dims;
  for (const d of v.dims) {
    if (!Number.isInteger(d) || d < 1)
      throw new Error(`volume dims must be positive integers, got ${JSON.stringify(v.dims)}`);
  }
  if (v.data.length !== nx * ny * nz) {
    throw new Error(`volume data has ${v.data.length} voxels but dims ${JSON.stringify(v.dims)} need ${nx * ny * nz}`);
  }
  if (!Array.isArray(v.affine) || v.affine.length !== 16 || !v.affine.every(Number.isFinite)) {
    throw new Error(`volume affine must be 16 finite numbers, got ${JSON.stringify(v.affine)}`);
  }
  const [a, b, c, , d, e, f, , g, h, i] = v.affine;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (!(Math.abs(det) > 1e-9))
    throw new Error(`volume affine is singular (determinant ${det}): ${JSON.stringify(v.affine)}`);
  if (nx * ny * nz < 8 || [nx, ny, nz].filter((d) => d > 1).length < 2) {
    throw new Error(`volume is empty or degenerate: dims ${JSON.stringify(v.dims)}`);
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < v.data.length; i++) {
    const x = v.data[i];
    if (!Number.isFinite(x)) throw new Error(`volume has a non-finite voxel value ${x} at index ${i}`);
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (max === min) throw new Error(`volume is constant (every voxel is ${min}): nothing to preprocess`);
  return { min, max };
}
