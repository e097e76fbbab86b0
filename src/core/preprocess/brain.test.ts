import { describe, expect, it } from 'vitest';
import { preprocess } from './pipeline.ts';
import { parsePreprocessSpec } from './spec.ts';
import { diceAgainstTemplate, syntheticHead, type Contrast } from './testing/synthetic-head.ts';
import { loadTemplate, templateAvailable } from './testing/template.ts';

// Colin27 comes from Debian's mricron-data (tools/setup.sh installs it).
describe.skipIf(!templateAvailable())('brain extraction on synthetic Colin27 heads', () => {
  const { t1, brain } = templateAvailable() ? loadTemplate() : ({} as ReturnType<typeof loadTemplate>);
  const spec = parsePreprocessSpec({ brain_extraction: 'auto', grid: [96, 96, 96] });

  it.each([
    [101, 'FLAIR'],
    [102, 'T2w'],
    [103, 'T2w'],
  ] as [number, Contrast][])(
    'seed %i %s: Dice ≥ 0.93 with skull, neck, oblique thick slices, bias and noise',
    (seed, contrast) => {
      const head = syntheticHead(t1, brain, { contrast, seed });
      const r = preprocess(head, spec);
      expect(r.skullStripped).toBe(false);
      expect(r.maskSource).toBe('extracted');
      expect(diceAgainstTemplate(r.mask, r.grid, r.affine, brain)).toBeGreaterThanOrEqual(0.93);
    },
  );

  it('detects the skull-stripped template and keeps its whole brain', () => {
    const r = preprocess(brain, spec);
    expect(r.skullStripped).toBe(true);
    expect(diceAgainstTemplate(r.mask, r.grid, r.affine, brain)).toBeGreaterThanOrEqual(0.97);
  });
});
