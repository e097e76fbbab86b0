/**
 * Pure inputs for the 2D slice models (paper B, 224×224): a slice of a volume or a picture,
 * resized to the model grid (bilinear, stretched like the papers' resize) and scaled to [0, 1]
 * (a volume slice by its 0.5–99.5 percentile window, like an 8-bit export divided by 255; a
 * picture by /255 of its luminance).
 */

import { closestAxes } from '../../core/preprocess/reorient.ts';
import { columnNorms } from '../../core/preprocess/affine.ts';

export type Axis = 0 | 1 | 2;

/** A 2D slice of `data` (index i + nx·(j + ny·k)) perpendicular to `axis` at `index`, row 0 at the top (superior/anterior up). */
export function extractSlice(data: ArrayLike<number>, dims: readonly number[], axis: Axis, index: number): { w: number; h: number; values: Float32Array } {
  const [nx, ny, nz] = dims;
  if (!Number.isInteger(index) || index < 0 || index >= dims[axis]) throw new Error(`slice ${index} is outside 0..${dims[axis] - 1} along axis ${axis}`);
  const [w, h] = axis === 2 ? [nx, ny] : axis === 1 ? [nx, nz] : [ny, nz];
  const values = new Float32Array(w * h);
  for (let v = 0; v < h; v++) {
    for (let u = 0; u < w; u++) {
      const [i, j, k] = axis === 2 ? [u, v, index] : axis === 1 ? [u, index, v] : [index, u, v];
      values[(h - 1 - v) * w + u] = data[i + nx * (j + ny * k)];
    }
  }
  return { w, h, values };
}

export type Convention = 'radiological' | 'neurological';

export interface OrientedSlice {
  w: number;
  h: number;
  /** Row-major, row 0 at the top. */
  values: Float32Array;
  /** Patient directions at the image's edges, e.g. { left: 'R', right: 'L', top: 'A', bottom: 'P' }. */
  labels: { left: string; right: string; top: string; bottom: string };
  /** Size of one pixel in mm, horizontally and vertically (draw with this aspect). */
  pixelMm: [number, number];
}

/**
 * A slice of a volume (index i + nx·(j + ny·k), voxel → RAS `affine`) shown the way the viewer
 * (NiiVue) shows it: the voxel axes permuted and flipped onto the nearest RAS axes (an oblique scan
 * is not resampled, like the viewer's "voxels not aligned with world space" display), cut
 * perpendicular to world axis `worldAxis` (0 sagittal, 1 coronal, 2 axial) through voxel `at`.
 * Axial and coronal: patient right on the image's left in radiological convention, on its right in
 * neurological; anterior (axial) or superior up. Sagittal: posterior left, anterior right, superior up.
 */
export function orientedSlice(data: ArrayLike<number>, dims: readonly number[], affine: readonly number[], worldAxis: Axis, at: readonly number[], convention: Convention): OrientedSlice {
  const perm = closestAxes([...affine]);
  const sign = perm.map((c, r) => (affine[r * 4 + c] < 0 ? -1 : 1));
  const norms = columnNorms([...affine]);
  const [nx, ny] = dims;
  const stride = [1, nx, nx * ny];
  // World axes along the image's columns (u) and rows (v).
  const [hAxis, vAxis] = worldAxis === 2 ? [0, 1] : worldAxis === 1 ? [0, 2] : [1, 2];
  const w = dims[perm[hAxis]], h = dims[perm[vAxis]];
  // Voxel index along a world axis' voxel axis for "t steps towards +world" (R, A, S).
  const voxel = (r: number, t: number) => (sign[r] > 0 ? t : dims[perm[r]] - 1 - t);
  const fixed = at[perm[worldAxis]];
  if (!Number.isInteger(fixed) || fixed < 0 || fixed >= dims[perm[worldAxis]]) throw new Error(`slice voxel ${JSON.stringify(at)} is outside the ${dims.join('×')} volume`);
  // Left to right: R→L (radiological) or L→R (neurological); posterior → anterior on sagittal.
  const leftIsPlus = worldAxis !== 0 && convention === 'radiological';
  const values = new Float32Array(w * h);
  const base = fixed * stride[perm[worldAxis]];
  for (let v = 0; v < h; v++) {
    const rowOffset = base + voxel(vAxis, h - 1 - v) * stride[perm[vAxis]];
    for (let u = 0; u < w; u++) values[v * w + u] = data[rowOffset + voxel(hAxis, leftIsPlus ? w - 1 - u : u) * stride[perm[hAxis]]];
  }
  const lr = leftIsPlus ? { left: 'R', right: 'L' } : { left: 'L', right: 'R' };
  const labels = worldAxis === 2 ? { ...lr, top: 'A', bottom: 'P' } : worldAxis === 1 ? { ...lr, top: 'S', bottom: 'I' } : { left: 'P', right: 'A', top: 'S', bottom: 'I' };
  return { w, h, values, labels, pixelMm: [norms[perm[hAxis]], norms[perm[vAxis]]] };
}

/** Bilinear resize of a row-major w×h image to W×H (pixel centres aligned). */
export function resizeBilinear(src: Float32Array, w: number, h: number, W: number, H: number): Float32Array {
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    const fy = Math.min(Math.max(((y + 0.5) * h) / H - 0.5, 0), h - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, h - 1), ty = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(Math.max(((x + 0.5) * w) / W - 0.5, 0), w - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, w - 1), tx = fx - x0;
      const top = src[y0 * w + x0] * (1 - tx) + src[y0 * w + x1] * tx;
      const bottom = src[y1 * w + x0] * (1 - tx) + src[y1 * w + x1] * tx;
      out[y * W + x] = top * (1 - ty) + bottom * ty;
    }
  }
  return out;
}

/** Maps the low/high percentiles of the non-zero pixels to 0/1, clipped. */
export function percentileScale(v: Float32Array, low = 0.5, high = 99.5): Float32Array {
  const nz = Array.from(v).filter((x) => x !== 0).sort((a, b) => a - b);
  if (nz.length === 0) return new Float32Array(v.length);
  const lo = nz[Math.floor(((nz.length - 1) * low) / 100)], hi = nz[Math.floor(((nz.length - 1) * high) / 100)];
  const span = hi - lo || 1;
  return v.map((x) => Math.min(1, Math.max(0, (x - lo) / span)));
}

/** A model input from a volume slice; the model's rows are image rows (top first), like a picture. */
export function sliceInput(data: ArrayLike<number>, dims: readonly number[], axis: Axis, index: number, size = 224): Float32Array {
  const s = extractSlice(data, dims, axis, index);
  return percentileScale(resizeBilinear(s.values, s.w, s.h, size, size));
}

/** A model input from RGBA pixels (a dropped PNG/JPEG): luminance / 255, resized. */
export function pictureInput(rgba: Uint8ClampedArray, w: number, h: number, size = 224): Float32Array {
  const gray = new Float32Array(w * h);
  for (let p = 0; p < w * h; p++) gray[p] = (0.299 * rgba[4 * p] + 0.587 * rgba[4 * p + 1] + 0.114 * rgba[4 * p + 2]) / 255;
  return resizeBilinear(gray, w, h, size, size);
}

/**
 * The model input as the worker's Volume on the 224×224×1 grid: image row r becomes NIfTI row
 * j = r (x fastest), the layout an ONNX [1, 1, 224, 224] tensor reads row by row.
 */
export function asGridVolume(input: Float32Array, size = 224) {
  return { dims: [size, size, 1] as [number, number, number], spacing: [1, 1, 1] as [number, number, number], affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], datatype: 'float32' as const, data: input };
}
