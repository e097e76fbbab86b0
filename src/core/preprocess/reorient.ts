/**
 * Step 1: reorientation to RAS. An axis-aligned affine (any of the 48 permutations/flips) is an
 * exact voxel permutation; an oblique affine is resampled (trilinear) onto an RAS-aligned grid
 * that covers the whole scan, keeping the voxel size of the closest source axis.
 */
import type { Volume } from '../volume.ts';
import { applyAffine, columnNorms, diagonalAffine, invertAffine, type Mat4 } from './affine.ts';

/** Columns whose off-axis components are below this fraction of their length count as aligned. */
const ALIGNED_TOL = 1e-4;

const PERMS: [number, number, number][] = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
];

/** For each world axis r, the source axis perm[r] closest to it (best of the 6 assignments). */
export function closestAxes(affine: Mat4): [number, number, number] {
  const norms = columnNorms(affine);
  let best = PERMS[0];
  let bestScore = -Infinity;
  for (const p of PERMS) {
    let s = 0;
    for (let r = 0; r < 3; r++) s += Math.abs(affine[r * 4 + p[r]]) / norms[p[r]];
    if (s > bestScore + 1e-12) {
      bestScore = s;
      best = p;
    }
  }
  return [best[0], best[1], best[2]];
}

/** True when every voxel axis lies along a world axis (no obliquity). */
export function isAxisAligned(affine: Mat4): boolean {
  const norms = columnNorms(affine);
  const perm = closestAxes(affine);
  for (let r = 0; r < 3; r++) {
    for (let rr = 0; rr < 3; rr++) {
      if (rr !== r && Math.abs(affine[rr * 4 + perm[r]]) > ALIGNED_TOL * norms[perm[r]]) return false;
    }
  }
  return true;
}

function permuteToRas(v: Volume): Volume {
  const perm = closestAxes(v.affine);
  const norms = columnNorms(v.affine);
  const sign = perm.map((c, r) => Math.sign(v.affine[r * 4 + c]));
  const outDims = perm.map((c) => v.dims[c]) as [number, number, number];
  const strides = [1, v.dims[0], v.dims[0] * v.dims[1]];
  // Source index of output voxel 0 and the source stride of one step along each output axis.
  const startIdx = [0, 0, 0];
  const step = [0, 0, 0];
  let base = 0;
  for (let r = 0; r < 3; r++) {
    const c = perm[r];
    startIdx[c] = sign[r] > 0 ? 0 : v.dims[c] - 1;
    base += startIdx[c] * strides[c];
    step[r] = sign[r] * strides[c];
  }
  const out = new Float32Array(v.data.length);
  const [nx, ny, nz] = outDims;
  let o = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      let s = base + k * step[2] + j * step[1];
      for (let i = 0; i < nx; i++, s += step[0]) out[o++] = v.data[s];
    }
  }
  const origin = applyAffine(v.affine, startIdx);
  const spacing = perm.map((c) => norms[c]) as [number, number, number];
  return { dims: outDims, spacing, affine: diagonalAffine(spacing, origin), datatype: v.datatype, data: out };
}

/** Trilinear sampler of `data` at source voxel coordinates; outside the half-voxel border → fill. */
function trilinearSampler(
  data: Float32Array,
  dims: readonly number[],
  fill: number,
): (x: number, y: number, z: number) => number {
  const [nx, ny, nz] = dims;
  const sx = nx > 1 ? 1 : 0;
  const sy = ny > 1 ? nx : 0;
  const sz = nz > 1 ? nx * ny : 0;
  const mx = Math.max(nx - 2, 0);
  const my = Math.max(ny - 2, 0);
  const mz = Math.max(nz - 2, 0);
  return (x, y, z) => {
    if (x < -0.5 || y < -0.5 || z < -0.5 || x > nx - 0.5 || y > ny - 0.5 || z > nz - 0.5) return fill;
    // Clamping inside the border half-voxel replicates the edge voxel.
    const cx = x < 0 ? 0 : x > nx - 1 ? nx - 1 : x;
    const cy = y < 0 ? 0 : y > ny - 1 ? ny - 1 : y;
    const cz = z < 0 ? 0 : z > nz - 1 ? nz - 1 : z;
    const fx0 = Math.floor(cx);
    const fy0 = Math.floor(cy);
    const fz0 = Math.floor(cz);
    const x0 = fx0 < mx ? fx0 : mx;
    const y0 = fy0 < my ? fy0 : my;
    const z0 = fz0 < mz ? fz0 : mz;
    const fx = sx ? cx - x0 : 0;
    const fy = sy ? cy - y0 : 0;
    const fz = sz ? cz - z0 : 0;
    const b = x0 + nx * (y0 + ny * z0);
    const c00 = data[b] + fx * (data[b + sx] - data[b]);
    const c10 = data[b + sy] + fx * (data[b + sy + sx] - data[b + sy]);
    const c01 = data[b + sz] + fx * (data[b + sz + sx] - data[b + sz]);
    const c11 = data[b + sz + sy] + fx * (data[b + sz + sy + sx] - data[b + sz + sy]);
    const c0 = c00 + fy * (c10 - c00);
    const c1 = c01 + fy * (c11 - c01);
    return c0 + fz * (c1 - c0);
  };
}

function resampleOblique(v: Volume, fill: number): Volume {
  const perm = closestAxes(v.affine);
  const norms = columnNorms(v.affine);
  const spacing = perm.map((c) => norms[c]) as [number, number, number];
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let corner = 0; corner < 8; corner++) {
    const p = [0, 1, 2].map((a) => ((corner >> a) & 1 ? v.dims[a] - 1 : 0));
    const w = applyAffine(v.affine, p);
    for (let r = 0; r < 3; r++) {
      lo[r] = Math.min(lo[r], w[r]);
      hi[r] = Math.max(hi[r], w[r]);
    }
  }
  const dims = [0, 1, 2].map((r) => Math.floor((hi[r] - lo[r]) / spacing[r] + 1e-6) + 1) as [number, number, number];
  const affine = diagonalAffine(spacing, lo);
  // out voxel → source voxel, stepped incrementally along i.
  const m = invertAffine(v.affine);
  const toSrc = (p: number[]) => applyAffine(m, applyAffine(affine, p));
  const origin = toSrc([0, 0, 0]);
  const dI = toSrc([1, 0, 0]).map((x, a) => x - origin[a]);
  const dJ = toSrc([0, 1, 0]).map((x, a) => x - origin[a]);
  const dK = toSrc([0, 0, 1]).map((x, a) => x - origin[a]);
  const out = new Float32Array(dims[0] * dims[1] * dims[2]);
  const sample = trilinearSampler(v.data, v.dims, fill);
  let o = 0;
  for (let k = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      const x0 = origin[0] + j * dJ[0] + k * dK[0];
      const y0 = origin[1] + j * dJ[1] + k * dK[1];
      const z0 = origin[2] + j * dJ[2] + k * dK[2];
      for (let i = 0; i < dims[0]; i++) {
        out[o++] = sample(x0 + i * dI[0], y0 + i * dI[1], z0 + i * dI[2]);
      }
    }
  }
  return { dims, spacing, affine, datatype: v.datatype, data: out };
}

/** The volume on an RAS-aligned grid (diagonal positive affine). `fill` is used outside the scan. */
export function reorientToRas(v: Volume, fill = 0): Volume {
  return isAxisAligned(v.affine) ? permuteToRas(v) : resampleOblique(v, fill);
}
