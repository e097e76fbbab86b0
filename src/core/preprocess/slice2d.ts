/**
 * Inputs for the 2D slice models (paper B, 224×224), built exactly like their training data: a
 * volume slice goes through synth/slices2d.py's export rule and training/data.py's PNG reader; a
 * picture (a dropped PNG/JPEG) through that reader alone. The reports' slices (orientedSlice) are
 * cut as the viewer shows them instead.
 */

import { closestAxes } from './reorient.ts';
import { applyAffine, columnNorms, invertAffine } from './affine.ts';

export type Axis = 0 | 1 | 2;

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
export function orientedSlice(
  data: ArrayLike<number>,
  dims: readonly number[],
  affine: readonly number[],
  worldAxis: Axis,
  at: readonly number[],
  convention: Convention,
): OrientedSlice {
  const perm = closestAxes([...affine]);
  const sign = perm.map((c, r) => (affine[r * 4 + c] < 0 ? -1 : 1));
  const norms = columnNorms([...affine]);
  const [nx, ny] = dims;
  const stride = [1, nx, nx * ny];
  // World axes along the image's columns (u) and rows (v).
  const [hAxis, vAxis] = worldAxis === 2 ? [0, 1] : worldAxis === 1 ? [0, 2] : [1, 2];
  const w = dims[perm[hAxis]],
    h = dims[perm[vAxis]];
  // Voxel index along a world axis' voxel axis for "t steps towards +world" (R, A, S).
  const voxel = (r: number, t: number) => (sign[r] > 0 ? t : dims[perm[r]] - 1 - t);
  const fixed = at[perm[worldAxis]];
  if (!Number.isInteger(fixed) || fixed < 0 || fixed >= dims[perm[worldAxis]])
    throw new Error(`slice voxel ${JSON.stringify(at)} is outside the ${dims.join('×')} volume`);
  // Left to right: R→L (radiological) or L→R (neurological); posterior → anterior on sagittal.
  const leftIsPlus = worldAxis !== 0 && convention === 'radiological';
  const values = new Float32Array(w * h);
  const base = fixed * stride[perm[worldAxis]];
  for (let v = 0; v < h; v++) {
    const rowOffset = base + voxel(vAxis, h - 1 - v) * stride[perm[vAxis]];
    for (let u = 0; u < w; u++)
      values[v * w + u] = data[rowOffset + voxel(hAxis, leftIsPlus ? w - 1 - u : u) * stride[perm[hAxis]]];
  }
  const lr = leftIsPlus ? { left: 'R', right: 'L' } : { left: 'L', right: 'R' };
  const labels =
    worldAxis === 2
      ? { ...lr, top: 'A', bottom: 'P' }
      : worldAxis === 1
        ? { ...lr, top: 'S', bottom: 'I' }
        : { left: 'P', right: 'A', top: 'S', bottom: 'I' };
  return { w, h, values, labels, pixelMm: [norms[perm[hAxis]], norms[perm[vAxis]]] };
}

/** Bilinear resize of a row-major w×h image to W×H (pixel centres aligned). */
export function resizeBilinear(src: Float32Array, w: number, h: number, W: number, H: number): Float32Array {
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    const fy = Math.min(Math.max(((y + 0.5) * h) / H - 0.5, 0), h - 1);
    const y0 = Math.floor(fy),
      y1 = Math.min(y0 + 1, h - 1),
      ty = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(Math.max(((x + 0.5) * w) / W - 0.5, 0), w - 1);
      const x0 = Math.floor(fx),
        x1 = Math.min(x0 + 1, w - 1),
        tx = fx - x0;
      const top = src[y0 * w + x0] * (1 - tx) + src[y0 * w + x1] * tx;
      const bottom = src[y1 * w + x0] * (1 - tx) + src[y1 * w + x1] * tx;
      out[y * W + x] = top * (1 - ty) + bottom * ty;
    }
  }
  return out;
}

/** Side of the 2D models' square input (synth/slices2d.py's SIZE). */
export const SLICE_SIZE = 224;

export type Plane = 'axial' | 'sagittal';

/** Round half to even, like numpy's `round` in the export. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The volume's closest RAS axes without resampling (nibabel's as_closest_canonical, which the
 * export applies): world axis r lies along voxel axis perm[r], pointing to +r when sign[r] > 0.
 */
function canonicalAxes(dims: readonly number[], affine: readonly number[]) {
  const perm = closestAxes([...affine]);
  const sign = perm.map((c, r) => (affine[r * 4 + c] < 0 ? -1 : 1));
  const norms = columnNorms([...affine]);
  // nibabel reads the voxel sizes from the header's float32 pixdim.
  const mm = perm.map((c) => Math.fround(norms[c]));
  const size = perm.map((c) => dims[c]);
  return { perm, sign, mm, size };
}

/** Source sample and weight of each of m outputs from n inputs in the export's ndi.zoom (order 1, grid_mode). */
function zoomTaps(n: number, m: number): { i0: Int32Array; t: Float64Array } {
  const i0 = new Int32Array(m),
    t = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const c = ((k + 0.5) * n) / m - 0.5;
    i0[k] = Math.floor(c);
    t[k] = c - i0[k];
  }
  return { i0, t };
}

/** synth/slices2d.py's _fit: scale (rows × cols, pixel sizes in mm) to fit the square keeping the physical aspect, centred, zero-padded. */
function fitSquare(
  img: Float32Array,
  rows: number,
  cols: number,
  mm: readonly [number, number],
  size: number,
): Float32Array {
  const phys = [rows * mm[0], cols * mm[1]];
  const scale = size / Math.max(phys[0], phys[1]);
  const [th, tw] = phys.map((p) => Math.max(roundHalfEven(p * scale), 1));
  const ty = zoomTaps(rows, th),
    tx = zoomTaps(cols, tw);
  // mode="grid-constant": samples outside the slice are 0, so the edge pixels blend towards 0.
  const at = (r: number, c: number) => (r >= 0 && r < rows && c >= 0 && c < cols ? img[r * cols + c] : 0);
  const out = new Float32Array(size * size);
  const r0 = (size - th) >> 1,
    c0 = (size - tw) >> 1;
  for (let y = 0; y < th; y++) {
    const r = ty.i0[y],
      v = ty.t[y];
    for (let x = 0; x < tw; x++) {
      const c = tx.i0[x],
        u = tx.t[x];
      out[(r0 + y) * size + c0 + x] =
        (1 - v) * ((1 - u) * at(r, c) + u * at(r, c + 1)) + v * ((1 - u) * at(r + 1, c) + u * at(r + 1, c + 1));
    }
  }
  return out;
}

/** numpy's default (linear) percentile q of sorted float32 values, as numpy 1.24 computes it. */
function percentileSorted(sorted: Float32Array, q: number): number {
  const idx = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(idx),
    hi = Math.min(lo + 1, sorted.length - 1),
    t = idx - lo;
  const a = sorted[lo],
    b = sorted[hi],
    d = Math.fround(b - a);
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/**
 * The training export's 8-bit picture of a volume slice (synth/slices2d.py), row-major, row 0 at
 * the top: the volume on its closest RAS axes (no resampling), cut at `index` along the plane's
 * normal (RAS x for sagittal, z for axial: the export's slice_index); axial with the patient's right
 * on the left and anterior up, sagittal with anterior on the left and superior up, whatever the
 * viewer's convention; fitted into size×size keeping the physical aspect (bilinear, zero-padded);
 * the median of its head pixels → 0.4·255 (sliceLevels).
 */
export function trainingSlice(
  data: ArrayLike<number>,
  dims: readonly number[],
  affine: readonly number[],
  plane: Plane,
  index: number,
  size = SLICE_SIZE,
): Uint8Array {
  const { perm, sign, mm, size: n } = canonicalAxes(dims, affine);
  const normal = plane === 'axial' ? 2 : 0;
  // RAS axes down the rows and along the columns; both run from their + end (anterior/superior, right/anterior).
  const [rowAxis, colAxis] = plane === 'axial' ? [1, 0] : [2, 1];
  if (!Number.isInteger(index) || index < 0 || index >= n[normal])
    throw new Error(`${plane} slice ${index} is outside 0..${n[normal] - 1}`);
  const stride = [1, dims[0], dims[0] * dims[1]];
  // Voxel index along world axis r's voxel axis for the canonical index t.
  const voxel = (r: number, t: number) => (sign[r] > 0 ? t : n[r] - 1 - t);
  const rows = n[rowAxis],
    cols = n[colAxis];
  const img = new Float32Array(rows * cols);
  const base = voxel(normal, index) * stride[perm[normal]];
  for (let r = 0; r < rows; r++) {
    const rowOffset = base + voxel(rowAxis, rows - 1 - r) * stride[perm[rowAxis]];
    for (let c = 0; c < cols; c++)
      img[r * cols + c] = data[rowOffset + voxel(colAxis, cols - 1 - c) * stride[perm[colAxis]]];
  }
  return sliceLevels(fitSquare(img, rows, cols, [mm[rowAxis], mm[colAxis]], size));
}

/** Head pixels: above this fraction of the slice's 99th percentile (synth/slices2d.py HEAD_FRACTION). */
const HEAD_FRACTION = 0.15;
/** The head's median as a fraction of 255 (synth/slices2d.py MEDIAN_LEVEL). */
const MEDIAN_LEVEL = 0.4;

/**
 * 8-bit levels of a fitted slice (synth/slices2d.py `levels`): the median of its head pixels → 0.4·255,
 * clipped at 255, so lesions up to 2.5× the median keep their contrast. numpy 1.24 returns its
 * percentiles in float64; each derived scalar is rounded to float32 once, as the export does.
 */
export function sliceLevels(fitted: Float32Array): Uint8Array {
  const levels = new Uint8Array(fitted.length);
  const positive = fitted.filter((v) => v > 0).sort();
  if (positive.length === 0) return levels;
  const cut = Math.fround(HEAD_FRACTION * percentileSorted(positive, 99));
  const head = positive.filter((v) => v > cut);
  const top = Math.fround(percentileSorted(head, 50) / MEDIAN_LEVEL);
  for (let p = 0; p < levels.length; p++)
    levels[p] = Math.min(255, Math.max(0, roundHalfEven(Math.fround(Math.fround(fitted[p] / top) * 255))));
  return levels;
}

/**
 * A training picture (row-major 8-bit levels, row 0 at the top) as the model's input, the way
 * training/data.py reads a PNG: level / 255, turned 180° so rows and columns grow towards
 * anterior/superior and right/anterior like a RAS NIfTI slice ([1, 1, size, size], index x + size·y).
 */
export function pictureToInput(levels: ArrayLike<number>): Float32Array {
  const n = levels.length;
  const out = new Float32Array(n);
  for (let p = 0; p < n; p++) out[p] = levels[n - 1 - p] / 255;
  return out;
}

/** The model input of a volume slice: trainingSlice read as a training PNG. */
export function sliceInput(
  data: ArrayLike<number>,
  dims: readonly number[],
  affine: readonly number[],
  plane: Plane,
  index: number,
  size = SLICE_SIZE,
): Float32Array {
  return pictureToInput(trainingSlice(data, dims, affine, plane, index, size));
}

/** The plane's slice index (trainingSlice's `index`) through world point `mm`, clamped to the volume. */
export function sliceIndexAt(
  dims: readonly number[],
  affine: readonly number[],
  plane: Plane,
  mm: readonly number[],
): number {
  const { perm, sign, size } = canonicalAxes(dims, affine);
  const normal = plane === 'axial' ? 2 : 0;
  const v = Math.round(applyAffine(invertAffine([...affine]), mm)[perm[normal]]);
  const t = sign[normal] > 0 ? v : size[normal] - 1 - v;
  return Math.min(size[normal] - 1, Math.max(0, t));
}

/** The plane's middle slice index, when there is no crosshair. */
export function middleSliceIndex(dims: readonly number[], affine: readonly number[], plane: Plane): number {
  return canonicalAxes(dims, affine).size[plane === 'axial' ? 2 : 0] >> 1;
}

/** Patient directions at a displayed picture's edges. */
export interface EdgeLabels {
  left: string;
  right: string;
  top: string;
  bottom: string;
}

/** Where the viewer shows a plane mirrored against the training picture: neurological axial; sagittal, which it shows posterior-left. */
function mirrored(plane: Plane | null, convention: Convention): boolean {
  return plane === 'sagittal' || (plane === 'axial' && convention === 'neurological');
}

/** The patient directions at the edges of inputForDisplay's picture; null for a dropped picture. */
export function displayLabels(plane: Plane | null, convention: Convention): EdgeLabels | null {
  if (plane === 'sagittal') return { left: 'P', right: 'A', top: 'S', bottom: 'I' };
  if (plane === null) return null;
  return {
    ...(mirrored(plane, convention) ? { left: 'L', right: 'R' } : { left: 'R', right: 'L' }),
    top: 'A',
    bottom: 'P',
  };
}

/**
 * How the panel shows a model input (or its Grad-CAM, same layout): turned back to the training
 * picture, then mirrored where the viewer shows the plane the other way round (displayLabels). A
 * picture (plane null) is shown as it came.
 */
export function inputForDisplay(
  input: Float32Array,
  plane: Plane | null,
  convention: Convention,
  size = SLICE_SIZE,
): Float32Array {
  const mirror = mirrored(plane, convention);
  const n = size * size;
  const values = new Float32Array(n);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) values[r * size + c] = input[n - 1 - (r * size + (mirror ? size - 1 - c : c))];
  }
  return values;
}

/** PIL's 8-bit luminance (convert("L"), ITU-R 601-2 in 16-bit fixed point), which training/data.py applies to a PNG. */
function luminance(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

/**
 * A model input from RGBA pixels (a dropped PNG/JPEG): luminance read like a training PNG
 * (pictureToInput), bilinearly resized when it is not size×size already (the export writes 224×224).
 */
export function pictureInput(rgba: Uint8ClampedArray, w: number, h: number, size = SLICE_SIZE): Float32Array {
  const gray = new Float32Array(w * h);
  for (let p = 0; p < w * h; p++) gray[p] = luminance(rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2]);
  return pictureToInput(w === size && h === size ? gray : resizeBilinear(gray, w, h, size, size));
}

/**
 * The model input (index x + size·y) as the worker's Volume on the size×size×1 grid (x fastest), the
 * layout an ONNX [1, 1, size, size] tensor reads row by row.
 */
export function asGridVolume(input: Float32Array, size = SLICE_SIZE) {
  return {
    dims: [size, size, 1] as [number, number, number],
    spacing: [1, 1, 1] as [number, number, number],
    affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    datatype: 'float32' as const,
    data: input,
  };
}
