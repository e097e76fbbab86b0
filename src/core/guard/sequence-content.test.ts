import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC, preprocess } from '../preprocess/index.ts';
import { phantomHead } from '../preprocess/testing/phantom-head.ts';
import { CONTENT_RULES, decideSequence, detectSequenceFromContent } from './sequence-content.ts';

// Tissue signals relative to white matter (400): FLAIR and T2w as synth/calibration.json measured them on
// the project's real scans (cortex 1.22 and 1.28 × WM, CSF 0.19 on FLAIR; T2w CSF 3 × WM, the middle of
// synth's 2.6–4 range); T1w from the usual adult values (cortex ~0.7 × WM, CSF ~0.25 × WM).
const CONTRASTS = {
  FLAIR: { csf: 76, gm: 488, wm: 400 },
  T2w: { csf: 1200, gm: 512, wm: 400 },
  T1w: { csf: 100, gm: 280, wm: 400 },
} as const;

const spec = { ...DEFAULT_SPEC, grid: [64, 64, 64] as [number, number, number] };

describe('sequence from content', () => {
  for (const [sequence, contrast] of Object.entries(CONTRASTS)) {
    for (const stripped of [false, true]) {
      it(`a ${sequence} phantom${stripped ? ' (skull-stripped)' : ''} is read as ${sequence}`, () => {
        const { volume } = phantomHead({ contrast, deepGrey: true, stripped, spacing: [1, 1, 4] });
        const d = detectSequenceFromContent(preprocess(volume, spec));
        expect(d.sequence, d.evidence).toBe(sequence);
      });
    }
  }

  it('says unknown, not a guess, between the FLAIR and T1w bands and without brain', () => {
    const between = (CONTENT_RULES.t1wBelow + CONTENT_RULES.flairAbove) / 2;
    expect(decideSequence({ brightTail: between, darkTail: 0.8, centreVoxels: 1e4 }).sequence).toBe('unknown');
    expect(decideSequence({ brightTail: 0.35, darkTail: 0.1, centreVoxels: 1e4 }).sequence).toBe('unknown');
    expect(decideSequence({ brightTail: NaN, darkTail: NaN, centreVoxels: 0 }).sequence).toBe('unknown');
  });

  it('does not change under a positive affine map of the intensities', () => {
    const { volume } = phantomHead({ contrast: CONTRASTS.FLAIR, deepGrey: true });
    const scaled = { ...volume, data: volume.data.map((v) => 3 * v + 50) };
    const a = detectSequenceFromContent(preprocess(volume, spec)).features;
    const b = detectSequenceFromContent(preprocess(scaled, spec)).features;
    // The features are invariant; the brain mask itself may move by a voxel with the new background.
    expect(b.brightTail).toBeCloseTo(a.brightTail, 2);
    expect(b.darkTail).toBeCloseTo(a.darkTail, 2);
  });
});
