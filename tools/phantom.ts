/**
 * A brain-like phantom defined in world RAS millimetres (scalp, skull, CSF, grey and white matter,
 * ventricles, cerebellum), sampled onto any voxel grid, so anisotropic and oblique test scans show
 * the same anatomy as the demo scan.
 */
import type { Volume } from '../src/core/volume.ts';
import { mulberry32 } from '../src/core/random.ts';

export type Contrast = 'FLAIR' | 'T2w';

export interface PhantomParams {
  dims: [number, number, number];
  /** Row-major 4×4 voxel → RAS mm; the default centres an axis-aligned RAS grid of `spacing`. */
  affine?: number[];
  spacing?: [number, number, number];
  contrast?: Contrast;
  /** Standard deviation of additive noise; 0 for none. */
  noise?: number;
  seed?: number;
}

type Tissue = 'air' | 'scalp' | 'skull' | 'csf' | 'gm' | 'wm';

const INTENSITY: Record<Contrast, Record<Tissue, number>> = {
  FLAIR: { air: 0, scalp: 150, skull: 12, csf: 18, gm: 115, wm: 92 },
  T2w: { air: 0, scalp: 120, skull: 10, csf: 225, gm: 115, wm: 72 },
};

/** Squared normalised distance to an ellipsoid's centre (< 1 inside). */
function ell(x: number, y: number, z: number, c: [number, number, number], r: [number, number, number]): number {
  const dx = (x - c[0]) / r[0],
    dy = (y - c[1]) / r[1],
    dz = (z - c[2]) / r[2];
  return dx * dx + dy * dy + dz * dz;
}

export function tissueAt(x: number, y: number, z: number): Tissue {
  const head = ell(x, y, z, [0, -10, 0], [80, 100, 84]);
  if (head >= 1) return 'air';
  if (ell(x, y, z, [0, -10, 0], [74, 94, 78]) >= 1) return 'scalp';
  if (ell(x, y, z, [0, -10, 2], [69, 89, 72]) >= 1) return 'skull';
  // A folded cortex: the brain surface wobbles by a few mm like gyri.
  const fold = 1 + 0.035 * Math.sin(x / 6) * Math.sin(y / 7) * Math.sin(z / 5);
  const cerebrum = ell(x, y, z, [0, -8, 14], [64 * fold, 84 * fold, 56 * fold]) < 1;
  const cerebellum = ell(x, y, z, [0, -62, -34], [46, 26, 20]) < 1;
  const brainstem = ell(x, y, 0, [0, -22, 0], [11, 13, 1]) < 1 && z > -72 && z < -10;
  if (brainstem && !cerebrum) return 'wm';
  if (!cerebrum && !cerebellum) return 'csf';
  if (cerebrum && Math.abs(x) < 1.6 && z > 0) return 'csf';
  for (const side of [-1, 1]) {
    if (ell(x, y, z, [side * 11, -4, 14], [6, 24, 9]) < 1) return 'csf';
  }
  if (cerebrum && ell(x, y, z, [0, -8, 14], [50, 69, 42]) < 1) return 'wm';
  if (cerebellum && ell(x, y, z, [0, -62, -34], [30, 14, 11]) < 1) return 'wm';
  return 'gm';
}

export function centredAffine(dims: [number, number, number], spacing: [number, number, number]): number[] {
  const t = dims.map((d, i) => (-(d - 1) / 2) * spacing[i]);
  return [spacing[0], 0, 0, t[0], 0, spacing[1], 0, t[1], 0, 0, spacing[2], t[2], 0, 0, 0, 1];
}

export function makePhantom(p: PhantomParams): Volume {
  const spacing = p.spacing ?? [1, 1, 1];
  const affine = p.affine ?? centredAffine(p.dims, spacing);
  const colNorm = (j: number) => Math.hypot(affine[j], affine[4 + j], affine[8 + j]);
  const table = INTENSITY[p.contrast ?? 'FLAIR'];
  const rand = mulberry32(p.seed ?? 1);
  const noise = p.noise ?? 0;
  const [nx, ny, nz] = p.dims;
  const data = new Float32Array(nx * ny * nz);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const x = affine[0] * i + affine[1] * j + affine[2] * k + affine[3];
        const y = affine[4] * i + affine[5] * j + affine[6] * k + affine[7];
        const z = affine[8] * i + affine[9] * j + affine[10] * k + affine[11];
        const v = table[tissueAt(x, y, z)];
        // Box–Muller: approximately Gaussian noise, kept non-negative like magnitude MRI.
        const n = noise > 0 ? noise * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()) : 0;
        data[i + nx * (j + ny * k)] = Math.max(0, Math.round(v + (v > 0 ? n : 0)));
      }
  return { dims: p.dims, spacing: [colNorm(0), colNorm(1), colNorm(2)], affine, datatype: 'float32', data };
}
