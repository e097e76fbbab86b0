/**
 * Synthetic clinical-looking heads with a known brain mask, for measuring brain extraction:
 * the Colin27 template (T1, with skull, and its brain mask) → FLAIR- or T2w-like contrast →
 * random rigid pose → thick oblique slices (partial volume across the slice) → bias field →
 * Rician noise → uint16. The Dice of a mask on any grid is taken against the template mask.
 */
import type { Volume } from '../../volume.ts';
import { applyAffine, invertAffine, matMul, type Mat4 } from '../affine.ts';
import { mulberry32 as rng } from '../../random.ts';

export type Contrast = 'FLAIR' | 'T2w';

export interface HeadOptions {
  contrast: Contrast;
  seed: number;
  /** Largest rotation about each axis, degrees. */
  maxRotationDeg?: number;
  sliceMm?: number;
  inPlaneMm?: number;
  /** Rician noise σ relative to the white-matter signal. */
  noise?: number;
  /** Largest linear bias-field slope, relative change per 100 mm. */
  bias?: number;
}

/** Deterministic uniform [0, 1) stream, re-exported for the tests that import it from here. */
export { rng };

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

/** Piecewise-linear map through anchor points [(x, y)…], flat beyond the ends. */
function piecewise(anchors: readonly [number, number][], x: number): number {
  if (x <= anchors[0][0]) return anchors[0][1];
  for (let i = 1; i < anchors.length; i++) {
    const [x1, y1] = anchors[i];
    if (x <= x1) {
      const [x0, y0] = anchors[i - 1];
      return y0 + ((x - x0) / (x1 - x0)) * (y1 - y0);
    }
  }
  return anchors[anchors.length - 1][1];
}

/**
 * Template T1 (u = T1 / white matter) → contrast, separately inside the brain (CSF, grey, white)
 * and outside it (air/bone dark, muscle grey, fat bright) since T1 alone cannot tell fat from WM.
 */
const CONTRASTS: Record<Contrast, { brain: [number, number][]; other: [number, number][] }> = {
  T2w: {
    brain: [
      [0, 1.0],
      [0.45, 0.95],
      [0.7, 0.62],
      [1.0, 0.42],
      [1.3, 0.42],
    ],
    other: [
      [0, 0],
      [0.15, 0.05],
      [0.4, 0.25],
      [0.7, 0.35],
      [1.0, 0.8],
      [1.4, 0.9],
    ],
  },
  FLAIR: {
    brain: [
      [0, 0.1],
      [0.45, 0.2],
      [0.7, 0.68],
      [1.0, 0.5],
      [1.3, 0.5],
    ],
    other: [
      [0, 0],
      [0.15, 0.03],
      [0.4, 0.2],
      [0.7, 0.4],
      [1.0, 0.75],
      [1.4, 0.85],
    ],
  },
};

const WM_T1 = 110;

function sample(v: Volume, p: readonly number[]): number {
  const [nx, ny, nz] = v.dims;
  const [x, y, z] = p;
  if (x < 0 || y < 0 || z < 0 || x > nx - 1 || y > ny - 1 || z > nz - 1) return 0;
  const x0 = Math.min(Math.floor(x), nx - 2);
  const y0 = Math.min(Math.floor(y), ny - 2);
  const z0 = Math.min(Math.floor(z), nz - 2);
  const fx = x - x0;
  const fy = y - y0;
  const fz = z - z0;
  const d = v.data;
  const b = x0 + nx * (y0 + ny * z0);
  const sy = nx;
  const sz = nx * ny;
  const c00 = d[b] + fx * (d[b + 1] - d[b]);
  const c10 = d[b + sy] + fx * (d[b + sy + 1] - d[b + sy]);
  const c01 = d[b + sz] + fx * (d[b + sz + 1] - d[b + sz]);
  const c11 = d[b + sz + sy] + fx * (d[b + sz + sy + 1] - d[b + sz + sy]);
  const c0 = c00 + fy * (c10 - c00);
  const c1 = c01 + fy * (c11 - c01);
  return c0 + fz * (c1 - c0);
}

function rotation(ax: number, ay: number, az: number): Mat4 {
  const [cx, sx, cy, sy, cz, sz] = [Math.cos(ax), Math.sin(ax), Math.cos(ay), Math.sin(ay), Math.cos(az), Math.sin(az)];
  const rx = [1, 0, 0, 0, 0, cx, -sx, 0, 0, sx, cx, 0, 0, 0, 0, 1];
  const ry = [cy, 0, sy, 0, 0, 1, 0, 0, -sy, 0, cy, 0, 0, 0, 0, 1];
  const rz = [cz, -sz, 0, 0, sz, cz, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  return matMul(rz, matMul(ry, rx));
}

/** A synthetic scan of the template head; `brain` is the template's mask (1 inside, 0 outside). */
export function syntheticHead(t1: Volume, brain: Volume, opts: HeadOptions): Volume {
  const r = rng(opts.seed);
  const maxRot = ((opts.maxRotationDeg ?? 12) * Math.PI) / 180;
  const slice = opts.sliceMm ?? 4 + r();
  const inPlane = opts.inPlaneMm ?? 0.9;
  const noise = opts.noise ?? 0.03;
  const bias = opts.bias ?? 0.25;
  const rot = rotation((2 * r() - 1) * maxRot, (2 * r() - 1) * maxRot, (2 * r() - 1) * maxRot);
  // Template centre (world) plus a random shift is the scan's centre.
  const tc = applyAffine(t1.affine, [(t1.dims[0] - 1) / 2, (t1.dims[1] - 1) / 2, (t1.dims[2] - 1) / 2]);
  const shift = [0, 1, 2].map(() => (2 * r() - 1) * 8);
  const dims: [number, number, number] = [
    Math.round(220 / inPlane),
    Math.round(230 / inPlane),
    Math.round(190 / slice),
  ];
  const scale = [inPlane, inPlane, slice, 0, 0];
  const lin = [0, 1, 2].map((row) => [0, 1, 2].map((c) => rot[row * 4 + c] * scale[c]));
  const affine: Mat4 = [...lin[0], 0, ...lin[1], 0, ...lin[2], 0, 0, 0, 0, 1];
  const centreOffset = applyAffine(affine, [(dims[0] - 1) / 2, (dims[1] - 1) / 2, (dims[2] - 1) / 2]);
  for (let a = 0; a < 3; a++) affine[a * 4 + 3] = tc[a] + shift[a] - centreOffset[a];

  const toTemplate = matMul(invertAffine(t1.affine), affine);
  const biasCoef = [0, 1, 2].map(() => ((2 * r() - 1) * bias) / 100);
  const biasQuad = ((2 * r() - 1) * bias) / 1e4;
  const { brain: fin, other: fout } = CONTRASTS[opts.contrast];
  const sub = 5;
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  const p = [0, 0, 0];
  let o = 0;
  for (let k = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      for (let i = 0; i < dims[0]; i++) {
        let s = 0;
        // Thick slice: average sub-samples across the slice thickness.
        for (let q = 0; q < sub; q++) {
          const kk = k + (q + 0.5) / sub - 0.5;
          p[0] = toTemplate[0] * i + toTemplate[1] * j + toTemplate[2] * kk + toTemplate[3];
          p[1] = toTemplate[4] * i + toTemplate[5] * j + toTemplate[6] * kk + toTemplate[7];
          p[2] = toTemplate[8] * i + toTemplate[9] * j + toTemplate[10] * kk + toTemplate[11];
          const u = sample(t1, p) / WM_T1;
          const m = sample(brain, p);
          s += m * piecewise(fin, u) + (1 - m) * piecewise(fout, u);
        }
        s /= sub;
        const w = applyAffine(affine, [i, j, k]);
        const d = [w[0] - tc[0], w[1] - tc[1], w[2] - tc[2]];
        const b = Math.exp(
          biasCoef[0] * d[0] + biasCoef[1] * d[1] + biasCoef[2] * d[2] + biasQuad * (d[0] * d[0] + d[1] * d[1]),
        );
        const re = s * b + noise * 0.5 * gaussian(r);
        const im = noise * 0.5 * gaussian(r);
        data[o++] = Math.round(Math.min(65535, 1000 * Math.hypot(re, im)));
      }
    }
  }
  return { dims, spacing: [inPlane, inPlane, slice], affine, datatype: 'uint16', data };
}

/**
 * Dice of `mask` (on a grid with `affine`, e.g. a PreprocessResult) against the template brain
 * mask, counted over the template's voxels so brain that falls outside the grid counts as missed.
 */
export function diceAgainstTemplate(mask: Uint8Array, grid: readonly number[], affine: Mat4, brain: Volume): number {
  const toGrid = matMul(invertAffine(affine), brain.affine);
  const [bx, by, bz] = brain.dims;
  const [gx, gy, gz] = grid;
  let both = 0;
  let a = 0;
  let b = 0;
  let o = 0;
  for (let k = 0; k < bz; k++) {
    for (let j = 0; j < by; j++) {
      for (let i = 0; i < bx; i++, o++) {
        const p = applyAffine(toGrid, [i, j, k]);
        const x = Math.round(p[0]);
        const y = Math.round(p[1]);
        const z = Math.round(p[2]);
        const m = x >= 0 && y >= 0 && z >= 0 && x < gx && y < gy && z < gz ? mask[x + gx * (y + gy * z)] : 0;
        const t = brain.data[o] >= 0.5 ? 1 : 0;
        a += m;
        b += t;
        both += m & t;
      }
    }
  }
  return (2 * both) / (a + b);
}
