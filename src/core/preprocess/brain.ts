/**
 * Step 2: brain extraction by intensity and morphology on a ~2 mm RAS working volume:
 * head mask → brain-tissue intensity band estimated around the head's centre → erosion cuts the
 * bridges to scalp, eyes and neck → the component at the centre → geodesic regrowth → closing and
 * hole filling (sulci, ventricles, lesions). Evidence for the choice: README.md in this folder.
 */
import { close, dilate, erode, fillHoles, labelComponents, largestComponent, open } from './morphology.ts';
import { maskedPercentiles } from './stats.ts';

export interface WorkingVolume {
  data: Float32Array;
  dims: [number, number, number];
  spacing: [number, number, number];
}

/** Tunable constants of the method, in one place (values chosen on the synthetic-head Dice). */
export const BRAIN_PARAMS = {
  /** Foreground threshold: p2 + fraction·(p98 − p2) (BET's rule). */
  foregroundFraction: 0.1,
  /** Brain tissue band, as multiples of the central median above p2. */
  bandLow: 0.7,
  bandHigh: 1.6,
  /** Erosion radius that separates brain from scalp/neck (mm). */
  erodeMm: 5,
  /** Closing radius that brings sulcal CSF into the mask (mm). */
  closeMm: 5,
  /** Brain lies at least this deep below the head's surface (scalp + skull), mm. */
  headMarginMm: 10,
  /** Final dilation that brings the CSF rim between brain and skull into the mask (mm). */
  rimMm: 0,
  /** Skull-stripped detection: foreground volume below this (ml) with a constant background. */
  strippedMaxMl: 2300,
  strippedMinBackground: 0.25,
  /** A head smaller than this (ml) is "no head found". */
  minHeadMl: 150,
};

function voxelMl(spacing: readonly number[]): number {
  return (spacing[0] * spacing[1] * spacing[2]) / 1000;
}

function count(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}

/** Already skull-stripped: a brain-sized foreground on an exactly constant background. */
export function isSkullStripped(w: WorkingVolume, sourceMin: number, backgroundFraction: number): boolean {
  if (backgroundFraction < BRAIN_PARAMS.strippedMinBackground) return false;
  const fg = new Uint8Array(w.data.length);
  for (let i = 0; i < fg.length; i++) fg[i] = w.data[i] > sourceMin ? 1 : 0;
  const ml = count(largestComponent(fg, w.dims)) * voxelMl(w.spacing);
  return ml <= BRAIN_PARAMS.strippedMaxMl;
}

/** Foreground (head) mask: BET's threshold, the largest component, holes filled. */
export function headMask(w: WorkingVolume): Uint8Array {
  const [p2, p98] = maskedPercentiles(w.data, null, [2, 98]);
  const t = p2 + BRAIN_PARAMS.foregroundFraction * (p98 - p2);
  const fg = new Uint8Array(w.data.length);
  for (let i = 0; i < fg.length; i++) fg[i] = w.data[i] > t ? 1 : 0;
  const head = fillHoles(close(largestComponent(open(fg, w.dims, w.spacing, 2), w.dims), w.dims, w.spacing, 4), w.dims);
  const ml = count(head) * voxelMl(w.spacing);
  if (ml < BRAIN_PARAMS.minHeadMl) {
    throw new Error(`no head found: the largest foreground object is ${ml.toFixed(0)} ml (need ≥ ${BRAIN_PARAMS.minHeadMl} ml)`);
  }
  return head;
}

/** Centre of mass (voxel coordinates) and equivalent-sphere radius (mm) of a mask. */
function centreAndRadius(mask: Uint8Array, w: WorkingVolume): { c: [number, number, number]; rMm: number } {
  const [nx, ny] = w.dims;
  let sx = 0;
  let sy = 0;
  let sz = 0;
  let n = 0;
  for (let p = 0; p < mask.length; p++) {
    if (!mask[p]) continue;
    sx += p % nx;
    sy += Math.floor(p / nx) % ny;
    sz += Math.floor(p / (nx * ny));
    n++;
  }
  const rMm = Math.cbrt((3 * n * voxelMl(w.spacing) * 1000) / (4 * Math.PI));
  return { c: [sx / n, sy / n, sz / n], rMm };
}

function sphere(w: WorkingVolume, c: readonly number[], rMm: number, within: Uint8Array): Uint8Array {
  const [nx, ny, nz] = w.dims;
  const out = new Uint8Array(within.length);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const p = i + nx * (j + ny * k);
        const d2 = ((i - c[0]) * w.spacing[0]) ** 2 + ((j - c[1]) * w.spacing[1]) ** 2 + ((k - c[2]) * w.spacing[2]) ** 2;
        out[p] = within[p] && d2 <= rMm * rMm ? 1 : 0;
      }
    }
  }
  return out;
}

/** Brain mask on the working grid of a volume with skull (throws when no head is found). */
export function extractBrain(w: WorkingVolume): Uint8Array {
  const head = headMask(w);
  const { c, rMm } = centreAndRadius(head, w);
  const [p2] = maskedPercentiles(w.data, null, [2]);
  const [median] = maskedPercentiles(w.data, sphere(w, c, rMm / 2, head), [50]);
  const scale = median - p2;
  if (!(scale > 0)) throw new Error('no head found: the centre of the head has no signal above the background');
  const lo = p2 + BRAIN_PARAMS.bandLow * scale;
  const hi = p2 + BRAIN_PARAMS.bandHigh * scale;
  const inner = erode(head, w.dims, w.spacing, BRAIN_PARAMS.headMarginMm);
  const band = new Uint8Array(head.length);
  for (let i = 0; i < band.length; i++) band[i] = inner[i] && w.data[i] >= lo && w.data[i] <= hi ? 1 : 0;
  const core = erode(band, w.dims, w.spacing, BRAIN_PARAMS.erodeMm);
  const { labels, sizes } = labelComponents(core, w.dims);
  // The brain is the biggest eroded component that reaches into the central sphere.
  const central = sphere(w, c, rMm / 2, head);
  let best = 0;
  for (let p = 0; p < labels.length; p++) {
    const l = labels[p];
    if (l && central[p] && sizes[l] > (sizes[best] ?? 0)) best = l;
  }
  if (best === 0) throw new Error('no head found: no brain-like tissue near the centre of the head');
  const seed = new Uint8Array(core.length);
  for (let p = 0; p < seed.length; p++) seed[p] = labels[p] === best ? 1 : 0;
  const grown = dilate(seed, w.dims, w.spacing, BRAIN_PARAMS.erodeMm + 1);
  for (let p = 0; p < grown.length; p++) grown[p] = grown[p] && band[p] ? 1 : 0;
  const closed = fillHoles(close(largestComponent(grown, w.dims), w.dims, w.spacing, BRAIN_PARAMS.closeMm), w.dims);
  const brain = BRAIN_PARAMS.rimMm > 0 ? dilate(closed, w.dims, w.spacing, BRAIN_PARAMS.rimMm) : closed;
  for (let p = 0; p < brain.length; p++) brain[p] = brain[p] && head[p] ? 1 : 0;
  return brain;
}
