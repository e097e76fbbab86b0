/**
 * The guards around an answer, one call for the CLI and the inference worker: the sequence read from the
 * preprocessed image, and the verdict (withheld or not, and why) from it and the classifier's OOD score.
 */
import type { Manifest } from '../bundle/manifest.ts';
import type { Prediction } from '../head/classifier.ts';
import { detectSequenceFromContent, type ContentDetection, type GridInput } from './sequence-content.ts';
import { verdict, type Verdict } from './verdict.ts';

export { calibrate, type Calibration } from './calibration.ts';
export { oodScore, type OodModel } from './ood.ts';
export { detectSequenceFromContent, type ContentDetection, type ContentSequence } from './sequence-content.ts';
export { isDemoScan } from './demo-scans.ts';
export { verdict, type Verdict } from './verdict.ts';

export interface Judgement {
  /** null for input already on the model grid: there is no brain mask to read the contrast in. */
  detected: ContentDetection | null;
  verdict: Verdict;
}

export interface JudgeContext {
  /** The input is one of the bundled demo phantoms (isDemoScan): the model-level real-scan check does not apply. */
  demoScan: boolean;
  /** false only to measure the model itself on real scans (experiments/real_scans.py, `qumri classify --no-model-check`). */
  modelCheck?: boolean;
}

/** `preprocessed` is the preprocessing result, or null when the input came on the model grid. */
export function judge(
  manifest: Manifest,
  preprocessed: GridInput | null,
  pred: Pick<Prediction, 'oodScore'>,
  ctx: JudgeContext,
): Judgement {
  const detected = preprocessed ? detectSequenceFromContent(preprocessed) : null;
  return {
    detected,
    verdict: verdict({
      modelSequence: manifest.sequence,
      detectedSequence: detected?.sequence ?? null,
      oodScore: pred.oodScore ?? null,
      oodThreshold: manifest.ood?.threshold ?? null,
      realScanFailures: ctx.demoScan || ctx.modelCheck === false ? [] : (manifest.real_scans?.fails ?? []),
    }),
  };
}
