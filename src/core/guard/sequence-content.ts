/**
 * Sequence from the image itself, read on the preprocessed model grid so page, CLI and training see
 * the same numbers. Two places are read: the brain's centre (ventricles, deep white matter, basal
 * ganglia) and the whole brain (which adds the cortex):
 *
 * - T2w: CSF is the brightest tissue, 2–4 × white matter, so the centre's top percent (the ventricles)
 *   sits far above its median;
 * - FLAIR: CSF is nulled (dark ventricles) and grey matter is brighter than white matter: deep grey and
 *   lesions lift the centre's top percent, and the cortex, a ribbon thinner than a grid voxel and so
 *   smeared by partial volume, draws the brain's brightest tenth out into a long ramp. A lesion-free
 *   FLAIR may show only the second;
 * - T1w: CSF dark and white matter, a thick homogeneous bulk, the brightest tissue: the histogram
 *   ends in a sharp edge, with only noise and shading above it.
 *
 * Tails are ratios of percentile differences (the centre's after subtracting the brain's 1st
 * percentile): a positive affine map of the intensities leaves them unchanged, but clipping does not,
 * so the detector reads the grid under the normalisation its thresholds were measured with
 * (CONTENT_NORMALIZE), whatever the model's: a model normalised to its median clips a T2w's CSF.
 */
import { normalizeInMask } from '../preprocess/normalize.ts';
import type { PreprocessResult } from '../preprocess/pipeline.ts';
import type { PreprocessSpec } from '../preprocess/spec.ts';
import { percentilesInPlace } from '../preprocess/stats.ts';

export type ContentSequence = 'FLAIR' | 'T2w' | 'T1w' | 'unknown';

export interface ContentFeatures {
  /** (p99 − p50) / p50 of the centre: bright CSF (T2w) ≫ deep grey and lesions (FLAIR) > noise and shading (T1w). */
  brightTail: number;
  /** (p50 − p5) / p50 of the centre: dark ventricles (FLAIR, T1w). */
  darkTail: number;
  /** (p99 − p90) / (p90 − p5) of the whole brain: a ramp of cortex and lesions (FLAIR) or the edge of white matter (T1w). */
  topTail: number;
  centreVoxels: number;
}

export interface ContentDetection {
  sequence: ContentSequence;
  /** Why, in words, for the header panel and the CLI. */
  evidence: string;
  features: ContentFeatures;
}

/**
 * Thresholds, measured on every real scan (lesion-removed twins included), the demo scans, every 4th
 * synth scan and head phantoms, all through `qumri preprocess` onto the 64³ grid (tools/sequence-content.ts
 * → records/sequence-content/sequence-content.json; real-NN as in data/real-eval/scans.csv):
 *
 * - t2wAbove: T2w ≥ 1.04 (real-13, healthy adult), FLAIR ≤ 0.61 (real ≤ 0.59): ×1.30 and ×1.31;
 * - darkCsfAbove: real FLAIR and T1w ≥ 0.51 (real-18);
 * - flairBrightAbove: T1w ≤ 0.31 (real-16; shaded phantoms 0.29), FLAIR with a short top tail ≥ 0.46
 *   (demo): ×1.17 and ×1.29, under the gap's middle (0.38) because that reads 13 more of 145 synth FLAIR
 *   as FLAIR with no margin smaller than flairTopAbove's;
 * - flairTopAbove: T1w ≤ 0.167 (real-16), FLAIR with a short bright tail ≥ 0.211 (real-25, a twin):
 *   ×1.14 and ×1.11.
 *
 * Read wrongly as measured: T1w phantoms shaded ±33 % (as FLAIR), the demo phantom.nii.gz and 45 of
 * 145 synth FLAIR (43 as T1w); the rules before these missed them too, but for one synth FLAIR, and
 * missed 58 synth FLAIR. After T2w and FLAIR, dark CSF is T1w; 'unknown' is for CSF neither bright nor
 * dark, and for too little brain.
 */
export const CONTENT_RULES = {
  t2wAbove: 0.8,
  darkCsfAbove: 0.4,
  flairBrightAbove: 0.36,
  flairTopAbove: 0.19,
  /** Half-size of the central box, as a fraction of the grid per axis. */
  centreHalf: 0.2,
  minVoxels: 500,
} as const;

export interface GridInput {
  data: Float32Array;
  mask: Uint8Array;
  grid: readonly [number, number, number];
}

/** The rule CONTENT_RULES were measured under (the default preprocessing's). */
export const CONTENT_NORMALIZE: PreprocessSpec['normalize'] = { method: 'percentile', low: 0.5, high: 99.5 };

/** The grid as the detector reads it: the preprocessing's resampled intensities under CONTENT_NORMALIZE. */
export function contentInput(pre: Pick<PreprocessResult, 'resampled' | 'mask' | 'grid'>): GridInput {
  return { data: normalizeInMask(pre.resampled, pre.mask, CONTENT_NORMALIZE).data, mask: pre.mask, grid: pre.grid };
}

/** The measurements behind the decision; pure, for tests and the results page. */
export function contentFeatures({ data, mask, grid }: GridInput): ContentFeatures {
  const [nx, ny, nz] = grid;
  let n = 0;
  const c = [0, 0, 0];
  for (let k = 0, o = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, o++) {
        if (!mask[o]) continue;
        c[0] += i;
        c[1] += j;
        c[2] += k;
        n++;
      }
    }
  }
  const none = { brightTail: NaN, darkTail: NaN, topTail: NaN };
  if (n === 0) return { ...none, centreVoxels: 0 };
  const brain = new Float32Array(n);
  for (let i = 0, o = 0; i < mask.length; i++) if (mask[i]) brain[o++] = data[i];
  const [floor, b5, b90, b99] = percentilesInPlace(brain, [1, 5, 90, 99]);
  const half = grid.map((g) => CONTENT_RULES.centreHalf * g);
  const centre: number[] = [];
  for (let k = 0, o = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, o++) {
        if (
          mask[o] &&
          Math.abs(i - c[0] / n) < half[0] &&
          Math.abs(j - c[1] / n) < half[1] &&
          Math.abs(k - c[2] / n) < half[2]
        ) {
          centre.push(data[o] - floor);
        }
      }
    }
  }
  if (centre.length < CONTENT_RULES.minVoxels) return { ...none, centreVoxels: centre.length };
  const [p5, p50, p99] = percentilesInPlace(Float32Array.from(centre), [5, 50, 99]);
  return {
    brightTail: (p99 - p50) / p50,
    darkTail: (p50 - p5) / p50,
    topTail: (b99 - b90) / (b90 - b5),
    centreVoxels: centre.length,
  };
}

/** FLAIR / T2w / T1w from the features; 'unknown' when the brain is too small or CSF is neither bright nor dark. */
export function decideSequence(f: ContentFeatures): ContentDetection {
  const r = CONTENT_RULES;
  const said = `bright tail ${f.brightTail.toFixed(2)}, dark tail ${f.darkTail.toFixed(2)} of the brain's centre, top tail ${f.topTail.toFixed(2)} of the brain`;
  const is = (sequence: ContentSequence, why: string): ContentDetection => ({
    sequence,
    evidence: `${why} (${said})`,
    features: f,
  });
  if (![f.brightTail, f.darkTail, f.topTail].every(Number.isFinite) || f.brightTail < 0) {
    return {
      sequence: 'unknown',
      evidence: `too little brain on the grid to read the tissue contrast (${f.centreVoxels} central voxels)`,
      features: f,
    };
  }
  if (f.brightTail >= r.t2wAbove) return is('T2w', 'CSF brighter than brain tissue');
  if (f.darkTail < r.darkCsfAbove) return is('unknown', 'neither bright nor dark CSF');
  if (f.brightTail >= r.flairBrightAbove)
    return is('FLAIR', 'dark CSF, deep grey or lesions brighter than white matter');
  if (f.topTail >= r.flairTopAbove) return is('FLAIR', 'dark CSF, cortex brighter than white matter');
  return is('T1w', 'dark CSF, white matter the brightest tissue');
}

export function detectSequenceFromContent(input: GridInput): ContentDetection {
  return decideSequence(contentFeatures(input));
}
