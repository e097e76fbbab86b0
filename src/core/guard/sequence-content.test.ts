import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC, preprocess } from '../preprocess/index.ts';
import { phantomHead, type PhantomOptions } from '../preprocess/testing/phantom-head.ts';
import type { Volume } from '../volume.ts';
import {
  CONTENT_RULES,
  contentFeatures,
  contentInput,
  decideSequence,
  detectSequenceFromContent,
} from './sequence-content.ts';

// Tissue signals relative to white matter (400): FLAIR and T2w as synth/calibration.json measured them on
// the project's real scans (cortex 1.22 and 1.28 × WM, CSF 0.19 on FLAIR; T2w CSF 3 × WM, the middle of
// synth's 2.6–4 range); T1w from the usual adult values (cortex ~0.7 × WM, CSF ~0.25 × WM).
const CONTRASTS = {
  FLAIR: { csf: 76, gm: 488, wm: 400 },
  T2w: { csf: 1200, gm: 512, wm: 400 },
  T1w: { csf: 100, gm: 280, wm: 400 },
} as const;

const spec = { ...DEFAULT_SPEC, grid: [64, 64, 64] as [number, number, number] };

const detect = (volume: Volume) => detectSequenceFromContent(preprocess(volume, spec));

/** A linear receive-coil shading from front to back, `perCent` relative change per 100 mm. */
function shaded(volume: Volume, perCent: number): Volume {
  const [nx, ny] = volume.dims;
  const y = (o: number) => ((Math.floor(o / nx) % ny) - (ny - 1) / 2) * volume.spacing[1];
  return { ...volume, data: volume.data.map((v, o) => v * (1 + (perCent * y(o)) / 1e4)) };
}

describe('sequence from content', () => {
  for (const [sequence, contrast] of Object.entries(CONTRASTS)) {
    for (const stripped of [false, true]) {
      // Thick axial slices as clinical FLAIR, and the phantom's own 2 × 2 × 3 mm.
      for (const spacing of [
        [1, 1, 4],
        [2, 2, 3],
      ] as PhantomOptions['spacing'][]) {
        it(`a ${sequence} phantom${stripped ? ' (skull-stripped)' : ''} at ${spacing!.join('×')} mm is read as ${sequence}`, () => {
          const d = detect(phantomHead({ contrast, deepGrey: true, stripped, spacing }).volume);
          expect(d.sequence, d.evidence).toBe(sequence);
        });
      }
    }
  }

  it('a lesion-free FLAIR whose centre holds nothing brighter than white matter is read as FLAIR from its cortex', () => {
    // As the real FLAIR with their lesions inpainted: the centre's bright tail is gone, the cortex is not.
    const d = detect(phantomHead({ contrast: CONTRASTS.FLAIR, deepGrey: false, spacing: [1, 1, 4] }).volume);
    expect(d.features.brightTail).toBeLessThan(CONTENT_RULES.flairBrightAbove);
    expect(d.sequence, d.evidence).toBe('FLAIR');
  });

  it('a T1w with coil shading, which gives its centre a bright tail, is still read as T1w', () => {
    // ±16 % across the brain, within what an uncorrected head coil gives; the real stroke T1w reads 0.31.
    const { volume } = phantomHead({ contrast: CONTRASTS.T1w, deepGrey: true, spacing: [1, 1, 4] });
    const plain = detect(volume);
    const d = detect(shaded(volume, 20));
    expect(d.features.brightTail).toBeGreaterThan(CONTENT_RULES.flairBrightAbove / 2);
    expect(d.features.brightTail).toBeGreaterThan(3 * plain.features.brightTail);
    expect(d.sequence, d.evidence).toBe('T1w');
  });

  it('either FLAIR cue suffices; with neither, dark CSF reads as T1w', () => {
    const r = CONTENT_RULES;
    const f = (bright: number, top: number) =>
      decideSequence({
        brightTail: bright * r.flairBrightAbove,
        darkTail: 2 * r.darkCsfAbove,
        topTail: top * r.flairTopAbove,
        centreVoxels: 1e4,
      }).sequence;
    expect(f(1.1, 0.9)).toBe('FLAIR');
    expect(f(0.9, 1.1)).toBe('FLAIR');
    expect(f(0.9, 0.9)).toBe('T1w');
    expect(f((1.1 * r.t2wAbove) / r.flairBrightAbove, 0.9)).toBe('T2w');
  });

  it('says unknown, not a guess, without dark CSF and without brain', () => {
    const r = CONTENT_RULES;
    expect(
      decideSequence({ brightTail: 0.1, darkTail: r.darkCsfAbove / 2, topTail: 0.1, centreVoxels: 1e4 }).sequence,
    ).toBe('unknown');
    expect(decideSequence({ brightTail: NaN, darkTail: NaN, topTail: NaN, centreVoxels: 0 }).sequence).toBe('unknown');
  });

  it('does not change under a positive affine map of the intensities', () => {
    const { volume } = phantomHead({ contrast: CONTRASTS.FLAIR, deepGrey: true });
    const a = detect(volume).features;
    const b = detect({ ...volume, data: volume.data.map((v) => 3 * v + 50) }).features;
    // The features are invariant; the brain mask itself may move by a voxel with the new background.
    expect(b.brightTail).toBeCloseTo(a.brightTail, 2);
    expect(b.darkTail).toBeCloseTo(a.darkTail, 2);
    expect(b.topTail).toBeCloseTo(a.topTail, 2);
  });

  it("reads the grid under its own normalisation, not the model's: a T2w stays T2w for a median-normalised model", () => {
    const { volume } = phantomHead({ contrast: CONTRASTS.T2w });
    const byDefault = preprocess(volume, spec);
    const reference = preprocess(volume, {
      ...spec,
      normalize: { method: 'reference', low: 0.5, reference: 50, value: 0.4 },
    });
    // The model's input clips CSF (3 × white matter) at 2.5 × the median: read as is, the bright tail shrinks.
    expect(contentFeatures(reference).brightTail).toBeLessThan(0.8 * contentFeatures(byDefault).brightTail);
    const seen = contentFeatures(contentInput(reference));
    const expected = contentFeatures(byDefault);
    // Same resampled grid and mask, same rule: equal up to float32 rounding of the one normalisation.
    expect(seen.brightTail).toBeCloseTo(expected.brightTail, 5);
    expect(seen.darkTail).toBeCloseTo(expected.darkTail, 5);
    expect(seen.topTail).toBeCloseTo(expected.topTail, 5);
    expect(decideSequence(seen).sequence).toBe('T2w');
  });
});
