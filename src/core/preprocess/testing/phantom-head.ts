/**
 * A small analytic head phantom (no template files needed): ellipsoidal brain (white matter,
 * a grey-matter rim, ventricles) inside CSF, skull, scalp and a neck, T2w-like, with noise.
 * Tests use it for the pipeline's contracts; the Colin27 heads measure brain extraction.
 */
import type { Volume } from '../../volume.ts';
import { rng } from './synthetic-head.ts';

export interface Phantom {
  volume: Volume;
  /** 1 inside the brain ellipsoid, same grid as the volume. */
  brain: Uint8Array;
}

const BRAIN = [68, 82, 58];

function ellipsoidR(x: number, y: number, z: number, grow: number): number {
  return Math.hypot(x / (BRAIN[0] + grow), y / (BRAIN[1] + grow), z / (BRAIN[2] + grow));
}

/** `stripped`: only the brain on an exactly zero background (as a skull-stripped file). */
export interface PhantomOptions {
  seed?: number;
  stripped?: boolean;
  spacing?: [number, number, number];
  /** Default: a 200 × 230 × 200 mm field of view. */
  dims?: [number, number, number];
  /** Rotation of the voxel grid about the left–right axis (an oblique acquisition), degrees. */
  tiltDeg?: number;
  /** Tissue signals; the default (CSF 1000, cortex 600, white matter 400) is T2w-like. */
  contrast?: { csf: number; gm: number; wm: number };
  /** Deep grey nuclei (basal ganglia and thalamus, ~40 ml) beside the ventricles, as the centre of a real brain has. */
  deepGrey?: boolean;
}

export function phantomHead(opts: PhantomOptions = {}): Phantom {
  const spacing = opts.spacing ?? [2, 2, 3];
  const dims: [number, number, number] = opts.dims ?? [
    Math.round(200 / spacing[0]),
    Math.round(230 / spacing[1]),
    Math.round(200 / spacing[2]),
  ];
  const r = rng(opts.seed ?? 1);
  const { csf, gm, wm } = opts.contrast ?? { csf: 1000, gm: 600, wm: 400 };
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  const brain = new Uint8Array(data.length);
  // Centre of the brain sits above the grid centre so the neck fits below.
  const c = [(dims[0] - 1) / 2, (dims[1] - 1) / 2, (dims[2] - 1) / 2 + 20 / spacing[2]];
  let o = 0;
  for (let k = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      for (let i = 0; i < dims[0]; i++, o++) {
        const x = (i - c[0]) * spacing[0];
        const y = (j - c[1]) * spacing[1];
        const z = (k - c[2]) * spacing[2];
        const inBrain = ellipsoidR(x, y, z, 0) <= 1;
        let v = 0;
        if (inBrain) {
          brain[o] = 1;
          const ventricle = Math.hypot(x / 8, y / 25, (z - 8) / 12) <= 1;
          const nucleus = opts.deepGrey && Math.hypot((Math.abs(x) - 18) / 10, y / 18, z / 12) <= 1;
          v = ventricle ? csf : nucleus ? gm : ellipsoidR(x, y, z, -5) <= 1 ? wm : gm;
        } else if (!opts.stripped) {
          const neck = z < -BRAIN[2] + 10 && Math.hypot(x / 55, (y + 10) / 60) <= 1;
          if (ellipsoidR(x, y, z, 3) <= 1) v = csf;
          else if (ellipsoidR(x, y, z, 9) <= 1) v = 60;
          else if (ellipsoidR(x, y, z, 15) <= 1) v = 800;
          else if (neck) v = 300;
        }
        if (!opts.stripped || inBrain) v = Math.max(0, v + 25 * (r() + r() + r() - 1.5));
        data[o] = Math.round(v);
      }
    }
  }
  // The phantom is drawn in grid coordinates; a tilt only changes where the grid sits in the world.
  const t = ((opts.tiltDeg ?? 0) * Math.PI) / 180;
  const [ct, st] = [Math.cos(t), Math.sin(t)];
  const lin = [
    [spacing[0], 0, 0],
    [0, ct * spacing[1], -st * spacing[2]],
    [0, st * spacing[1], ct * spacing[2]],
  ];
  const affine = [0, 1, 2]
    .flatMap((r) => [...lin[r], -(lin[r][0] * c[0] + lin[r][1] * c[1] + lin[r][2] * c[2])])
    .concat([0, 0, 0, 1]);
  return { volume: { dims, spacing, affine, datatype: 'uint16', data }, brain };
}
