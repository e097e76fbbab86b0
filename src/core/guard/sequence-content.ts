/**
 * Sequence from the image itself, read on the preprocessed model grid so page, CLI and training see
 * the same numbers. The cue is the brain's centre (ventricles, deep white matter, basal ganglia):
 *
 * - T2w: CSF is the brightest tissue, 2–4 × white matter, so the centre's upper tail sits far above its
 *   median;
 * - FLAIR: CSF is nulled (dark ventricles); above the white-matter median only cortex and lesions,
 *   1.1–1.6 × white matter;
 * - T1w: CSF dark and white matter the brightest tissue, so almost nothing lies above the median.
 *
 * Tail heights are ratios to the centre's median after subtracting the brain's 1st percentile: the
 * percentile normalisation is a positive affine map, which this leaves unchanged. The bands between the
 * rules are 'unknown' rather than a guess.
 */
import { percentilesInPlace } from '../preprocess/stats.ts';

export type ContentSequence = 'FLAIR' | 'T2w' | 'T1w' | 'unknown';

export interface ContentFeatures {
  /** (p95 − p50) / p50 of the centre: bright CSF (T2w) ≫ cortex and lesions (FLAIR) > nothing (T1w). */
  brightTail: number;
  /** (p50 − p5) / p50 of the centre: dark ventricles (FLAIR, T1w). */
  darkTail: number;
  centreVoxels: number;
}

export interface ContentDetection {
  sequence: ContentSequence;
  /** Why, in words, for the header panel and the CLI. */
  evidence: string;
  features: ContentFeatures;
}

/**
 * Thresholds on brightTail / darkTail. Measured on the project's scans (64³ grid; docs/results.md,
 * "Sequence from content"): T2w 0.66–4.3, FLAIR 0.31–0.42 (phantoms 0.34–0.48), T1w 0.19–0.27.
 */
export const CONTENT_RULES = {
  t2wAbove: 0.55,
  flairAbove: 0.3,
  t1wBelow: 0.25,
  darkCsfAbove: 0.4,
  /** Half-size of the central box, as a fraction of the grid per axis. */
  centreHalf: 0.2,
  minVoxels: 500,
} as const;

export interface GridInput {
  data: Float32Array;
  mask: Uint8Array;
  grid: readonly [number, number, number];
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
  if (n === 0) return { brightTail: NaN, darkTail: NaN, centreVoxels: 0 };
  const brain = new Float32Array(n);
  for (let i = 0, o = 0; i < mask.length; i++) if (mask[i]) brain[o++] = data[i];
  const floor = percentilesInPlace(brain, [1])[0];
  const half = grid.map((g) => CONTENT_RULES.centreHalf * g);
  const centre: number[] = [];
  for (let k = 0, o = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, o++) {
        if (mask[o] && Math.abs(i - c[0] / n) < half[0] && Math.abs(j - c[1] / n) < half[1] && Math.abs(k - c[2] / n) < half[2]) {
          centre.push(data[o] - floor);
        }
      }
    }
  }
  if (centre.length < CONTENT_RULES.minVoxels) return { brightTail: NaN, darkTail: NaN, centreVoxels: centre.length };
  const [p5, p50, p95] = percentilesInPlace(Float32Array.from(centre), [5, 50, 95]);
  return { brightTail: (p95 - p50) / p50, darkTail: (p50 - p5) / p50, centreVoxels: centre.length };
}

/** FLAIR / T2w / T1w from the features; 'unknown' when the brain is too small or the cues are unclear. */
export function decideSequence(f: ContentFeatures): ContentDetection {
  const r = CONTENT_RULES;
  const said = `bright tail ${f.brightTail.toFixed(2)}, dark tail ${f.darkTail.toFixed(2)} of the brain's centre`;
  const is = (sequence: ContentSequence, why: string): ContentDetection => ({ sequence, evidence: `${why} (${said})`, features: f });
  if (!(Number.isFinite(f.brightTail) && Number.isFinite(f.darkTail) && f.brightTail >= 0)) {
    return { sequence: 'unknown', evidence: `too little brain on the grid to read the tissue contrast (${f.centreVoxels} central voxels)`, features: f };
  }
  if (f.brightTail >= r.t2wAbove) return is('T2w', 'CSF brighter than brain tissue');
  if (f.darkTail < r.darkCsfAbove) return is('unknown', 'neither bright nor dark CSF');
  if (f.brightTail >= r.flairAbove) return is('FLAIR', 'dark CSF, cortex or lesions brighter than white matter');
  if (f.brightTail < r.t1wBelow) return is('T1w', 'dark CSF, white matter the brightest tissue');
  return is('unknown', 'dark CSF but no clear white-matter/cortex order');
}

export function detectSequenceFromContent(input: GridInput): ContentDetection {
  return decideSequence(contentFeatures(input));
}
