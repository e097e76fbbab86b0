/**
 * Sequence from the acquisition parameters a DICOM series records (issue 18), as dcm2niix's BIDS
 * sidecar gives them, in seconds. They are the scanner's own account of the contrast, so where they
 * name a sequence the guard takes it over the image content; where they name none (proton density,
 * STIR, T2*, parameters missing) the content decides.
 *
 * - FLAIR: an inversion time that nulls CSF, roughly 1.8–2.8 s at 1.5–3 T (1.5–3.0 s accepted, 3D
 *   FLAIR runs shorter), with a long echo time;
 * - T1w: an inversion time near white matter's null, 0.3–1.5 s, with a short echo time (MPRAGE,
 *   T1-FLAIR), or no inversion with a short echo and repetition time (spin echo T1, spoiled gradient echo);
 * - never T2w: a long echo and repetition time without an inversion time is T2w or a FLAIR whose
 *   inversion time was not recorded (anonymisers and some exports drop it), so the content decides.
 */
import type { SequenceDetection } from '../load/sequence.ts';
import type { ContentSequence } from './sequence-content.ts';

/** Seconds, as dcm2niix's sidecar gives them; null when the series does not record one. */
export interface AcquisitionTimes {
  echoTime: number | null;
  repetitionTime: number | null;
  inversionTime: number | null;
}

export const ACQUISITION_RULES = {
  flairInversion: [1.5, 3.0],
  t1Inversion: [0.3, 1.5],
  /** Echo times: FLAIR's T2 contrast needs a long one, T1 contrast a short one. */
  longEcho: 0.06,
  shortEcho: 0.03,
  /** Repetition time short enough for T1 contrast. */
  shortRepetition: 1.0,
} as const;

const seconds = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null);

/** The times in a dcm2niix sidecar (parseSidecar's object). */
export function acquisitionTimes(sidecar: Record<string, unknown>): AcquisitionTimes {
  return {
    echoTime: seconds(sidecar.EchoTime),
    repetitionTime: seconds(sidecar.RepetitionTime),
    inversionTime: seconds(sidecar.InversionTime),
  };
}

export interface AcquisitionDetection {
  sequence: Exclude<ContentSequence, 'unknown'>;
  /** The times it was read from, in words. */
  evidence: string;
}

const ms = (s: number) => `${Math.round(s * 1000 * 10) / 10} ms`;

function describe({ echoTime, repetitionTime, inversionTime }: AcquisitionTimes): string {
  return [
    echoTime !== null && `TE ${ms(echoTime)}`,
    repetitionTime !== null && `TR ${ms(repetitionTime)}`,
    inversionTime !== null && `TI ${ms(inversionTime)}`,
  ]
    .filter(Boolean)
    .join(', ');
}

/** The sequence the times name, or null when they name neither FLAIR nor T1w. */
export function detectSequenceFromAcquisition(t: AcquisitionTimes): AcquisitionDetection | null {
  const r = ACQUISITION_RULES;
  const { echoTime: te, repetitionTime: tr, inversionTime: ti } = t;
  if (te === null) return null;
  const within = (v: number, [lo, hi]: readonly [number, number]) => v >= lo && v <= hi;
  const is = (sequence: AcquisitionDetection['sequence'], why: string): AcquisitionDetection => ({
    sequence,
    evidence: `acquisition ${describe(t)}: ${why}`,
  });
  if (ti !== null) {
    if (within(ti, r.flairInversion) && te >= r.longEcho) return is('FLAIR', 'an inversion time that nulls CSF');
    if (within(ti, r.t1Inversion) && te <= r.shortEcho) return is('T1w', 'an inversion time near white matter’s null');
    return null;
  }
  if (tr === null) return null;
  if (te <= r.shortEcho && tr <= r.shortRepetition) return is('T1w', 'short echo and repetition times, no inversion');
  return null;
}

/**
 * The scan's sequence before any classification (the page asks the user about a mismatch with the
 * model's): the acquisition times where they name one, as judge() takes them over the image, else
 * the file name or series fields. The evidence says when those name another sequence than the times.
 */
export function scanSequence(
  named: SequenceDetection,
  acquisition?: AcquisitionTimes,
): { sequence: ContentSequence; evidence: string } {
  const acq = acquisition ? detectSequenceFromAcquisition(acquisition) : null;
  if (!acq) return { sequence: named.sequence, evidence: named.evidence };
  const differs =
    named.sequence !== 'unknown' && named.sequence !== acq.sequence
      ? `; ${named.evidence} reads as ${named.sequence}`
      : '';
  return { sequence: acq.sequence, evidence: `${acq.evidence}${differs}` };
}
