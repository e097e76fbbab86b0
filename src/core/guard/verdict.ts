/**
 * Whether an answer is given or withheld. Three checks: the sequence read from the image agrees with the
 * model's; the scan lies within the training data's feature distribution; and the model itself passed
 * its real-scan checks (issue 18), or the scan is one of the bundled demo phantoms it was made for. A
 * failed check withholds the class (CLI: `withheld`; page: the result greyed with the reason) unless the
 * user forces it; the probability is always kept, so nothing is hidden.
 */
import type { ContentSequence } from './sequence-content.ts';

export interface GuardInput {
  modelSequence: string;
  /** From the acquisition times or the image content; null when neither could be read. */
  detectedSequence: ContentSequence | null;
  /** What it was read from (default: the image content). */
  detectedFrom?: 'acquisition' | 'content';
  /** null when the bundle carries no OOD model. */
  oodScore: number | null;
  oodThreshold: number | null;
  /** The real-scan checks the model fails (its manifest's real_scans.fails); empty when it passed or the check does not apply. */
  realScanFailures: readonly string[];
}

export interface Verdict {
  withheld: boolean;
  /** Empty when both checks pass. */
  reasons: string[];
  /** null when the bundle has no OOD model (or the score could not be computed). */
  inDistribution: boolean | null;
}

export function verdict(g: GuardInput): Verdict {
  const reasons: string[] = [];
  if (g.detectedSequence !== null && g.detectedSequence !== g.modelSequence) {
    reasons.push(
      g.detectedSequence === 'unknown'
        ? `the image's contrast does not read as ${g.modelSequence}`
        : `the ${g.detectedFrom === 'acquisition' ? 'acquisition' : 'image'} reads as ${g.detectedSequence}, the model is for ${g.modelSequence}`,
    );
  }
  const inDistribution = g.oodScore === null || g.oodThreshold === null ? null : g.oodScore <= g.oodThreshold;
  if (inDistribution === false) {
    reasons.push(
      `unlike the training data (OOD score ${g.oodScore!.toFixed(2)} > ${g.oodThreshold!.toFixed(2)}): this answer is unreliable`,
    );
  }
  if (g.realScanFailures.length > 0) {
    reasons.push(
      `this model fails its checks on real scans (${g.realScanFailures.join('; ')}): outside its demo phantoms its answer is not reliable`,
    );
  }
  return { withheld: reasons.length > 0, reasons, inDistribution };
}
