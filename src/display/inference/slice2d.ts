/**
 * Pure inputs for the 2D slice models (paper B, 224×224): a slice of a volume or a picture,
 * resized to the model grid (bilinear, stretched like the papers' resize) and scaled to [0, 1]
 * (a volume slice by its 0.5–99.5 percentile window, like an 8-bit export divided by 255; a
 * picture by /255 of its luminance).
 */

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
