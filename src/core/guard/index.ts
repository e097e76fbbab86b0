/**
 * The guards around an answer, one call for the CLI and the inference worker: the sequence read from the
 * DICOM acquisition parameters or the preprocessed image, and the verdict (withheld or not, and why)
 * from it and the classifier's OOD score.
 */
import type { Manifest } from '../bundle/manifest.ts';
import type { Prediction } from '../head/classifier.ts';
import { detectSequenceFromAcquisition, type AcquisitionTimes } from './sequence-acquisition.ts';
import { detectSequenceFromContent, type ContentSequence, type GridInput } from './sequence-content.ts';
import { verdict, type Verdict } from './verdict.ts';

export { calibrate, type Calibration } from './calibration.ts';
export { oodScore, type OodModel } from './ood.ts';
export { detectSequenceFromContent, type ContentDetection, type ContentSequence } from './sequence-content.ts';
export { isDemoScan } from './demo-scans.ts';
export {
  acquisitionTimes,
  detectSequenceFromAcquisition,
  scanSequence,
  type AcquisitionTimes,
} from './sequence-acquisition.ts';
export { verdict, type Verdict } from './verdict.ts';

/** The sequence an answer is judged by, and what it was read from. */
export interface DetectedSequence {
  sequence: ContentSequence;
  /** Why, in words, for the result card and the CLI. */
  evidence: string;
  from: 'acquisition' | 'content';
}

export interface Judgement {
  /** null when there is nothing to read it from: input already on the model grid (no brain mask) without acquisition times that name a sequence. */
  detected: DetectedSequence | null;
  verdict: Verdict;
}

export interface JudgeContext {
  /** The input is one of the bundled demo phantoms (isDemoScan): the model-level real-scan check does not apply. */
  demoScan: boolean;
  /** false only to measure the model itself on real scans (experiments/real_scans.py, `qumri classify --no-model-check`). */
  modelCheck?: boolean;
  /** A DICOM series' echo, repetition and inversion times (dcm2niix's sidecar); absent for NIfTI input. */
  acquisition?: AcquisitionTimes;
}

/** The acquisition times where they name a sequence (the scanner's own account), else the image content. */
function detectSequence(preprocessed: GridInput | null, acquisition?: AcquisitionTimes): DetectedSequence | null {
  const content = preprocessed ? detectSequenceFromContent(preprocessed) : null;
  const acq = acquisition ? detectSequenceFromAcquisition(acquisition) : null;
  if (acq) {
    const differs =
      content && content.sequence !== acq.sequence ? `; the image content reads as ${content.sequence}` : '';
    return { sequence: acq.sequence, evidence: `${acq.evidence}${differs}`, from: 'acquisition' };
  }
  return content && { sequence: content.sequence, evidence: content.evidence, from: 'content' };
}

/** `preprocessed` is the preprocessing result, or null when the input came on the model grid. */
export function judge(
  manifest: Manifest,
  preprocessed: GridInput | null,
  pred: Pick<Prediction, 'oodScore'>,
  ctx: JudgeContext,
): Judgement {
  const detected = detectSequence(preprocessed, ctx.acquisition);
  return {
    detected,
    verdict: verdict({
      modelSequence: manifest.sequence,
      detectedSequence: detected?.sequence ?? null,
      detectedFrom: detected?.from,
      oodScore: pred.oodScore ?? null,
      oodThreshold: manifest.ood?.threshold ?? null,
      realScanFailures: ctx.demoScan || ctx.modelCheck === false ? [] : (manifest.real_scans?.fails ?? []),
    }),
  };
}
