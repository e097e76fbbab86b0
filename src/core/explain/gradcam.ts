/**
 * Pure Grad-CAM (Selvaraju et al., ICCV 2017): channel weights from the gradient of the score with
 * respect to a feature map A, the ReLU of the weighted map, then resampled onto the scan's own voxels
 * through the preprocessing affine so it overlays the scan as loaded.
 *
 * The input per channel k is g_k = Σ_s ∂score/∂A_k(s), so Grad-CAM's weight α_k (the spatial mean of
 * the gradient) is g_k/S. For the last map, which the head pools (features = mean over space),
 * g_k = ∂score/∂features_k; for an inner stage the backbone graph computes g (training/explain.py).
 */

/** Row-major 4×4. */
export type Mat4 = readonly number[];

export interface CamParams {
  /** [F, d, h, w] (3D) or [F, h, w] (2D), C order. */
  featureMap: Float32Array;
  featureMapDims: readonly number[];
  /** Σ over the map's cells of ∂score/∂map, per channel. */
  channelGrad: ArrayLike<number>;
}

/** The class activation map on the feature grid, [d, h, w] C order (d = 1 for 2D), ReLU applied. */
export function camOnFeatureGrid({ featureMap, featureMapDims, channelGrad }: CamParams): {
  cam: Float32Array;
  dims: [number, number, number];
} {
  const [F, ...spatial] = featureMapDims;
  const dims = (spatial.length === 2 ? [1, ...spatial] : spatial) as [number, number, number];
  if (spatial.length < 2 || spatial.length > 3)
    throw new Error(`Grad-CAM: feature map dims ${JSON.stringify(featureMapDims)} are neither [F,h,w] nor [F,d,h,w]`);
  if (channelGrad.length !== F) throw new Error(`Grad-CAM: ${channelGrad.length} gradients for ${F} feature channels`);
  const S = dims[0] * dims[1] * dims[2];
  if (featureMap.length !== F * S)
    throw new Error(`Grad-CAM: feature map has ${featureMap.length} values, dims say ${F * S}`);
  const cam = new Float32Array(S);
  for (let f = 0; f < F; f++) {
    const a = channelGrad[f] / S;
    if (a === 0) continue;
    const off = f * S;
    for (let s = 0; s < S; s++) cam[s] += a * featureMap[off + s];
  }
  for (let s = 0; s < S; s++) if (cam[s] < 0) cam[s] = 0;
  return { cam, dims };
}

export function invert4(m: Mat4): number[] {
  // Affine inverse: [R t; 0 1]⁻¹ = [R⁻¹ −R⁻¹t; 0 1].
  const [a, b, c, , d, e, f, , g, h, i] = m;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12)
    throw new Error(`Grad-CAM: affine ${JSON.stringify(m)} is not invertible`);
  const r = [
    (e * i - f * h) / det,
    (c * h - b * i) / det,
    (b * f - c * e) / det,
    (f * g - d * i) / det,
    (a * i - c * g) / det,
    (c * d - a * f) / det,
    (d * h - e * g) / det,
    (b * g - a * h) / det,
    (a * e - b * d) / det,
  ];
  const t = [m[3], m[7], m[11]];
  const out: number[] = [];
  for (let row = 0; row < 3; row++) {
    const rr = r.slice(row * 3, row * 3 + 3);
    out.push(...rr, -(rr[0] * t[0] + rr[1] * t[1] + rr[2] * t[2]));
  }
  out.push(0, 0, 0, 1);
  return out;
}

export function multiply4(a: Mat4, b: Mat4): number[] {
  const out = new Array<number>(16).fill(0);
  for (let r = 0; r < 4; r++)
    for (let c = 0; c < 4; c++) for (let k = 0; k < 4; k++) out[r * 4 + c] += a[r * 4 + k] * b[k * 4 + c];
  return out;
}

/** Trilinear sample of a [d, h, w] C-order grid at continuous (x, y, z) voxel coordinates; 0 outside. */
function trilinear(v: Float32Array, [d, h, w]: readonly number[], x: number, y: number, z: number): number {
  if (x < -0.5 || y < -0.5 || z < -0.5 || x > w - 0.5 || y > h - 0.5 || z > d - 0.5) return 0;
  const cx = Math.min(Math.max(x, 0), w - 1),
    cy = Math.min(Math.max(y, 0), h - 1),
    cz = Math.min(Math.max(z, 0), d - 1);
  const x0 = Math.floor(cx),
    y0 = Math.floor(cy),
    z0 = Math.floor(cz);
  const x1 = Math.min(x0 + 1, w - 1),
    y1 = Math.min(y0 + 1, h - 1),
    z1 = Math.min(z0 + 1, d - 1);
  const fx = cx - x0,
    fy = cy - y0,
    fz = cz - z0;
  const at = (zz: number, yy: number, xx: number) => v[(zz * h + yy) * w + xx];
  const c00 = at(z0, y0, x0) * (1 - fx) + at(z0, y0, x1) * fx;
  const c01 = at(z0, y1, x0) * (1 - fx) + at(z0, y1, x1) * fx;
  const c10 = at(z1, y0, x0) * (1 - fx) + at(z1, y0, x1) * fx;
  const c11 = at(z1, y1, x0) * (1 - fx) + at(z1, y1, x1) * fx;
  return (c00 * (1 - fy) + c01 * fy) * (1 - fz) + (c10 * (1 - fy) + c11 * fy) * fz;
}

export interface ToScanParams {
  cam: Float32Array;
  /** [d, h, w] of the feature grid. */
  camDims: readonly number[];
  /** Model grid [nx, ny, nz] (the preprocessing output). */
  grid: readonly number[];
  /** Model-grid voxel → world (mm), from the preprocessing. */
  gridAffine: Mat4;
  /** The scan as loaded: dims [nx, ny, nz] and voxel → world (mm). */
  scanDims: readonly number[];
  scanAffine: Mat4;
  /** Brain mask on the model grid: the map is zero where the nearest grid voxel is not brain. */
  gridMask?: Uint8Array;
}

/** Whether grid coordinate (gx, gy, gz) falls on a brain voxel of the mask (nearest voxel). */
function inMask(mask: Uint8Array, grid: readonly number[], gx: number, gy: number, gz: number): boolean {
  const i = Math.round(gx),
    j = Math.round(gy),
    k = Math.round(gz);
  if (i < 0 || j < 0 || k < 0 || i >= grid[0] || j >= grid[1] || k >= grid[2]) return false;
  return mask[i + grid[0] * (j + grid[1] * k)] !== 0;
}

/**
 * The CAM resampled onto the scan's voxels (index i + nx·(j + ny·k)), scaled to [0, 1] by its max.
 * A feature voxel covers a block of grid voxels, so grid voxel centre g maps to feature coordinate
 * (g + 0.5)·n_feat/n_grid − 0.5.
 */
export function camToScan({
  cam,
  camDims,
  grid,
  gridAffine,
  scanDims,
  scanAffine,
  gridMask,
}: ToScanParams): Float32Array {
  const m = multiply4(invert4(gridAffine), scanAffine);
  const [d, h, w] = camDims;
  const sx = w / grid[0],
    sy = h / grid[1],
    sz = d / grid[2];
  const [nx, ny, nz] = scanDims;
  const out = new Float32Array(nx * ny * nz);
  let max = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      let idx = nx * (j + ny * k);
      for (let i = 0; i < nx; i++, idx++) {
        const gx = m[0] * i + m[1] * j + m[2] * k + m[3];
        const gy = m[4] * i + m[5] * j + m[6] * k + m[7];
        const gz = m[8] * i + m[9] * j + m[10] * k + m[11];
        if (gridMask && !inMask(gridMask, grid, gx, gy, gz)) continue;
        const v = trilinear(
          cam,
          camDims,
          (gx + 0.5) * sx - 0.5,
          (gy + 0.5) * sy - 0.5,
          d === 1 ? 0 : (gz + 0.5) * sz - 0.5,
        );
        out[idx] = v;
        if (v > max) max = v;
      }
    }
  }
  if (max > 0) for (let s = 0; s < out.length; s++) out[s] /= max;
  return out;
}
