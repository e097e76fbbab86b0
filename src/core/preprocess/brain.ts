/**
 * Step 2: brain extraction by intensity and morphology on a ~2 mm RAS working volume:
 * head mask → brain-tissue intensity band estimated around the head's centre → erosion cuts the
 * bridges to scalp, eyes and neck → the component at the centre → geodesic regrowth → closing and
 * hole filling (sulci, ventricles, lesions). Evidence for the choice: README.md in this folder.
 */
import {
  close,
  dilate,
  dilateSteps,
  erode,
  erodeSteps,
  fillHoles,
  labelComponents,
  largestComponent,
} from './morphology.ts';
import { coverAxis, resampleSeparable, type AxisMap } from './resample.ts';
import { maskedPercentiles } from './stats.ts';

export interface WorkingVolume {
  data: Float32Array;
  dims: [number, number, number];
  spacing: [number, number, number];
}

/** Tunable constants of the method, in one place (values chosen on the synthetic-head Dice). */
export const BRAIN_PARAMS = {
  /** Voxel size (mm) of the working volume the mask is computed on. */
  workingMm: 2,
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
  /** Skull-stripped detection: foreground volume below this (ml) with a constant background. */
  strippedMaxMl: 2300,
  strippedMinBackground: 0.25,
  /** Bias-field estimate: Gaussian σ (mm) of the normalised convolution, and its rounds. */
  biasSigmaMm: 20,
  biasRounds: 1,
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

/**
 * Foreground (head) mask: BET's threshold, the largest component, closing by two voxels
 * (octahedron, ~4 mm), holes filled.
 */
export function headMask(w: WorkingVolume): Uint8Array {
  const [p2, p98] = maskedPercentiles(w.data, null, [2, 98]);
  const t = p2 + BRAIN_PARAMS.foregroundFraction * (p98 - p2);
  const fg = new Uint8Array(w.data.length);
  for (let i = 0; i < fg.length; i++) fg[i] = w.data[i] > t ? 1 : 0;
  const big = largestComponent(fg, w.dims);
  const head = fillHoles(erodeSteps(dilateSteps(big, w.dims, 2), w.dims, 2), w.dims);
  const ml = count(head) * voxelMl(w.spacing);
  if (ml < BRAIN_PARAMS.minHeadMl) {
    throw new Error(
      `no head found: the largest foreground object is ${ml.toFixed(0)} ml (need ≥ ${BRAIN_PARAMS.minHeadMl} ml)`,
    );
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
        const d2 =
          ((i - c[0]) * w.spacing[0]) ** 2 + ((j - c[1]) * w.spacing[1]) ** 2 + ((k - c[2]) * w.spacing[2]) ** 2;
        out[p] = within[p] && d2 <= rMm * rMm ? 1 : 0;
      }
    }
  }
  return out;
}

/** In-place separable Gaussian blur of a small grid (σ in voxels, edges renormalised). */
function gaussianBlur(data: Float32Array, dims: readonly number[], sigma: number): Float32Array {
  const radius = Math.ceil(3 * sigma);
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, t) => Math.exp(-(((t - radius) / sigma) ** 2) / 2));
  let cur = data;
  const strides = [1, dims[0], dims[0] * dims[1]];
  for (let axis = 0; axis < 3; axis++) {
    const out = new Float32Array(cur.length);
    const n = dims[axis];
    const st = strides[axis];
    for (let p = 0; p < cur.length; p++) {
      const idx = Math.floor(p / st) % n;
      let acc = 0;
      let wsum = 0;
      for (let t = -radius; t <= radius; t++) {
        const q = idx + t;
        if (q < 0 || q >= n) continue;
        acc += kernel[t + radius] * cur[p + t * st];
        wsum += kernel[t + radius];
      }
      out[p] = acc / wsum;
    }
    cur = out;
  }
  return cur;
}

/**
 * Smooth multiplicative bias field over `mask` (normalised convolution on an ~8 mm grid),
 * scaled to 1 at the mask's median; voxels far from the mask get the nearest estimate's trend.
 */
export function biasField(w: WorkingVolume, mask: Uint8Array): Float32Array {
  const coarse = [0, 1, 2].map((a) => coverAxis(w.dims[a], w.spacing[a], 8));
  const cdims = coarse.map((m) => m.n);
  const masked = new Float32Array(w.data.length);
  const m = new Float32Array(w.data.length);
  for (let i = 0; i < m.length; i++) {
    m[i] = mask[i];
    masked[i] = mask[i] ? w.data[i] : 0;
  }
  const sigma = BRAIN_PARAMS.biasSigmaMm / 8;
  const num = gaussianBlur(resampleSeparable(masked, w.dims, coarse), cdims, sigma);
  const den = gaussianBlur(resampleSeparable(m, w.dims, coarse), cdims, sigma);
  const ratio = new Float32Array(num.length);
  let fallback = 0;
  let nf = 0;
  for (let i = 0; i < ratio.length; i++) {
    if (den[i] > 1e-3) {
      ratio[i] = num[i] / den[i];
      fallback += ratio[i];
      nf++;
    }
  }
  fallback = nf > 0 ? fallback / nf : 1;
  for (let i = 0; i < ratio.length; i++) if (!(den[i] > 1e-3)) ratio[i] = fallback;
  const back: AxisMap[] = coarse.map((c, a) => ({ n: w.dims[a], start: (0 - c.start) / c.step, step: 1 / c.step }));
  const field = resampleSeparable(ratio, cdims, back, fallback);
  const [median] = maskedPercentiles(field, mask, [50]);
  for (let i = 0; i < field.length; i++) field[i] = field[i] > 0 ? field[i] / median : 1;
  return field;
}

/** Voxels of `region` whose intensity lies in the brain-tissue band around `median`. */
function tissueBand(data: Float32Array, region: Uint8Array, p2: number, median: number): Uint8Array {
  const lo = p2 + BRAIN_PARAMS.bandLow * (median - p2);
  const hi = p2 + BRAIN_PARAMS.bandHigh * (median - p2);
  const band = new Uint8Array(region.length);
  for (let i = 0; i < band.length; i++) band[i] = region[i] && data[i] >= lo && data[i] <= hi ? 1 : 0;
  return band;
}

/** Brain mask on the working grid of a volume with skull (throws when no head is found). */
export function extractBrain(w: WorkingVolume): Uint8Array {
  const head = headMask(w);
  const { c, rMm } = centreAndRadius(head, w);
  const [p2] = maskedPercentiles(w.data, null, [2]);
  const central = sphere(w, c, rMm / 2, head);
  const [median] = maskedPercentiles(w.data, central, [50]);
  if (!(median - p2 > 0)) throw new Error('no head found: the centre of the head has no signal above the background');
  const inner = erode(head, w.dims, w.spacing, BRAIN_PARAMS.headMarginMm);
  let band = tissueBand(w.data, inner, p2, median);
  // Bias correction: flatten the tissue band's smooth trend, then re-threshold (a few rounds).
  for (let round = 0; round < BRAIN_PARAMS.biasRounds; round++) {
    const field = biasField(w, band);
    const data = new Float32Array(w.data.length);
    for (let i = 0; i < data.length; i++) data[i] = p2 + (w.data[i] - p2) / field[i];
    const [m2] = maskedPercentiles(data, central, [50]);
    band = tissueBand(data, inner, p2, m2);
  }
  const core = erode(band, w.dims, w.spacing, BRAIN_PARAMS.erodeMm);
  const { labels, sizes } = labelComponents(core, w.dims);
  // The brain is the biggest eroded component that reaches into the central sphere.
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
  const brain = fillHoles(close(largestComponent(grown, w.dims), w.dims, w.spacing, BRAIN_PARAMS.closeMm), w.dims);
  for (let p = 0; p < brain.length; p++) brain[p] = brain[p] && head[p] ? 1 : 0;
  return brain;
}
