/**
 * Brain-extraction evidence: Dice of the pipeline's mask against the Colin27 brain mask on
 * synthetic FLAIR/T2w heads (random pose, thick oblique slices, bias field, noise).
 * Run: npx tsx tools/eval-brain-extraction.ts [--n 12] [--seed 1]   (JSON → bench/results/)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { preprocess, parsePreprocessSpec } from '../src/core/preprocess/index.ts';
import { diceAgainstTemplate, syntheticHead, type Contrast } from '../src/core/preprocess/testing/synthetic-head.ts';
import { loadTemplate, templateAvailable } from '../src/core/preprocess/testing/template.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

if (!templateAvailable()) {
  console.error(
    'eval-brain-extraction: /usr/share/mricron/templates/ch2*.nii.gz missing (apt-get install mricron-data)',
  );
  process.exit(1);
}
const n = arg('--n', 12);
const seed0 = arg('--seed', 1);
const { t1, brain } = loadTemplate();
const spec = parsePreprocessSpec({ brain_extraction: 'on' });
const rows: { seed: number; contrast: Contrast; sliceMm: number; dice: number; ms: number }[] = [];
for (let s = 0; s < n; s++) {
  const contrast: Contrast = s % 2 === 0 ? 'FLAIR' : 'T2w';
  const head = syntheticHead(t1, brain, { contrast, seed: seed0 + s });
  const t0 = performance.now();
  const r = preprocess(head, spec);
  const ms = performance.now() - t0;
  const dice = diceAgainstTemplate(r.mask, r.grid, r.affine, brain);
  rows.push({ seed: seed0 + s, contrast, sliceMm: head.spacing[2], dice, ms });
  console.log(
    `seed ${seed0 + s}\t${contrast}\tslice ${head.spacing[2].toFixed(2)} mm\tDice ${dice.toFixed(4)}\t${ms.toFixed(0)} ms`,
  );
}
const dices = rows.map((r) => r.dice);
const mean = dices.reduce((a, b) => a + b, 0) / dices.length;
const summary = { n: rows.length, meanDice: mean, minDice: Math.min(...dices), goal: 0.95, rows };
console.log(`mean Dice ${mean.toFixed(4)}  min ${summary.minDice.toFixed(4)}  (goal mean ≥ 0.95)`);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/brain-extraction.json', JSON.stringify(summary, null, 1));
