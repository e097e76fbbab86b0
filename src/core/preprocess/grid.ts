/**
 * Step 3's placement rule: where the model grid lies on the RAS volume, given the brain's
 * bounding box. `resize` stretches the box to the grid (the papers); `fixed_spacing` centres a
 * grid of spacing_mm voxels on the box (crop/pad, physical size kept).
 */
import type { AxisMap } from './resample.ts';
import type { PreprocessSpec } from './spec.ts';

/** Continuous RAS-voxel extent [lo, hi] (voxel edges) of the box, per axis. */
export type Box = [[number, number], [number, number], [number, number]];

/** Bounding box (voxel edges) of a mask, mapped through per-axis maps into source coordinates. */
export function maskBox(mask: Uint8Array, dims: readonly number[], maps: readonly AxisMap[]): Box {
  const [nx, ny] = dims;
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let p = 0; p < mask.length; p++) {
    if (!mask[p]) continue;
    const idx = [p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))];
    for (let a = 0; a < 3; a++) {
      if (idx[a] < lo[a]) lo[a] = idx[a];
      if (idx[a] > hi[a]) hi[a] = idx[a];
    }
  }
  if (!Number.isFinite(lo[0])) throw new Error('the brain mask is empty: no bounding box to place the grid on');
  const edge = (a: number, i: number, side: number) => maps[a].start + (i + side * 0.5) * maps[a].step;
  return [0, 1, 2].map((a) => [edge(a, lo[a], -1), edge(a, hi[a], 1)]) as Box;
}

/** Per-axis maps from model-grid voxels to RAS-volume voxel coordinates. */
export function gridMaps(box: Box, spec: PreprocessSpec, rasSpacing: readonly number[]): AxisMap[] {
  return [0, 1, 2].map((a) => {
    const n = spec.grid[a];
    const [lo, hi] = box[a];
    if (spec.resample === 'resize') {
      const step = (hi - lo) / n;
      return { n, start: lo + step / 2, step };
    }
    const step = (spec.spacing_mm as number[])[a] / rasSpacing[a];
    const centre = (lo + hi) / 2;
    return { n, start: centre - ((n - 1) / 2) * step, step };
  });
}
