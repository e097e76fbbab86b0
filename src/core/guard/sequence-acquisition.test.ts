import { describe, expect, it } from 'vitest';
import type { Manifest } from '../bundle/manifest.ts';
import { DEFAULT_SPEC, preprocess } from '../preprocess/index.ts';
import { phantomHead } from '../preprocess/testing/phantom-head.ts';
import { judge } from './index.ts';
import {
  acquisitionTimes,
  detectSequenceFromAcquisition,
  scanSequence,
  type AcquisitionTimes,
} from './sequence-acquisition.ts';

const times = (echoTime: number | null, repetitionTime: number | null, inversionTime: number | null = null) =>
  ({ echoTime, repetitionTime, inversionTime }) satisfies AcquisitionTimes;

describe('sequence from the acquisition times', () => {
  it('reads the times from a dcm2niix sidecar, in seconds, and nothing else', () => {
    expect(acquisitionTimes({ EchoTime: 0.09, RepetitionTime: 9, InversionTime: 2.5, FlipAngle: 150 })).toEqual(
      times(0.09, 9, 2.5),
    );
    // parseSidecar turns dcm2niix's bare nan into null; a zero or a string is no time either.
    expect(acquisitionTimes({ EchoTime: null, RepetitionTime: '2.3', InversionTime: 0 })).toEqual(
      times(null, null, null),
    );
  });

  it.each([
    ['2D T2-FLAIR', times(0.09, 9, 2.5), 'FLAIR'],
    ['3D FLAIR (SPACE, CUBE)', times(0.39, 5, 1.8), 'FLAIR'],
    ['MPRAGE', times(0.003, 2.3, 0.9), 'T1w'],
    ['T1-FLAIR', times(0.01, 2, 0.8), 'T1w'],
    ['spin-echo T1', times(0.012, 0.5), 'T1w'],
    ['spoiled gradient echo', times(0.004, 0.02), 'T1w'],
  ])('%s reads as %s', (_, t, sequence) => {
    expect(detectSequenceFromAcquisition(t)?.sequence).toBe(sequence);
  });

  it.each([
    ['STIR (a short inversion with a long echo)', times(0.07, 5, 0.17)],
    ['proton density (short echo, long repetition)', times(0.02, 3)],
    ['intermediate weighting (middling echo, long repetition)', times(0.04, 3)],
    ['a long inversion with a short echo', times(0.003, 9, 2.5)],
    ['no echo time', times(null, 9, 2.5)],
    ['no repetition time and no inversion', times(0.09, null)],
    // T2 TSE, or a 2D FLAIR whose inversion time the export dropped: the times cannot tell them apart.
    ['long echo and repetition, no inversion time', times(0.1, 5)],
  ])('%s names no sequence', (_, t) => {
    expect(detectSequenceFromAcquisition(t)).toBeNull();
  });

  it('says which times it read, in milliseconds', () => {
    expect(detectSequenceFromAcquisition(times(0.0029, 2.3, 0.9))?.evidence).toBe(
      'acquisition TE 2.9 ms, TR 2300 ms, TI 900 ms: an inversion time near white matter’s null',
    );
  });
});

describe('judge with acquisition times', () => {
  const manifest = { sequence: 'FLAIR' } as unknown as Manifest;
  const pred = {};
  // A FLAIR-contrast phantom on the 64³ grid: the content reads FLAIR (sequence-content.test.ts).
  const grid = preprocess(phantomHead({ contrast: { csf: 76, gm: 488, wm: 400 }, deepGrey: true }).volume, {
    ...DEFAULT_SPEC,
    grid: [64, 64, 64],
  });

  it('takes the acquisition over the content where it names a sequence, and says that the content disagrees', () => {
    expect(judge(manifest, grid, pred, { demoScan: false }).detected).toMatchObject({
      sequence: 'FLAIR',
      from: 'content',
    });
    const t1 = judge(manifest, grid, pred, { demoScan: false, acquisition: times(0.012, 0.5) });
    expect(t1.detected).toEqual({
      sequence: 'T1w',
      evidence:
        'acquisition TE 12 ms, TR 500 ms: short echo and repetition times, no inversion; the image content reads as FLAIR',
      from: 'acquisition',
    });
    expect(t1.verdict).toMatchObject({
      withheld: true,
      reasons: ['the acquisition reads as T1w, the model is for FLAIR'],
    });
    const flair = judge(manifest, grid, pred, { demoScan: false, acquisition: times(0.09, 9, 2.5) });
    expect(flair.detected).toMatchObject({ sequence: 'FLAIR', from: 'acquisition' });
    expect(flair.detected?.evidence).not.toMatch(/content/);
    expect(flair.verdict.withheld).toBe(false);
  });

  it('falls back on the content where the times name nothing, and reads them without a brain mask too', () => {
    expect(judge(manifest, grid, pred, { demoScan: false, acquisition: times(0.02, 3) }).detected).toMatchObject({
      sequence: 'FLAIR',
      from: 'content',
    });
    expect(judge(manifest, null, pred, { demoScan: false, acquisition: times(0.012, 0.5) }).detected).toMatchObject({
      sequence: 'T1w',
      from: 'acquisition',
    });
    expect(judge(manifest, grid, pred, { demoScan: false, acquisition: times(0.1, 5) }).detected).toMatchObject({
      sequence: 'FLAIR',
      from: 'content',
    });
    expect(judge(manifest, null, pred, { demoScan: false, acquisition: times(0.02, 3) }).detected).toBeNull();
  });
});

describe('the scan sequence the page asks about', () => {
  const named = (sequence: 'FLAIR' | 'T2w' | 'unknown', evidence: string) =>
    ({ sequence, source: sequence === 'unknown' ? 'none' : 'dicom', evidence }) as const;

  it('takes the acquisition over the names where the times name a sequence', () => {
    // An MPRAGE whose series fields name no sequence: T1w, not a FLAIR-or-T2w question.
    expect(scanSequence(named('unknown', 'no FLAIR or T2w marker'), times(0.003, 2.3, 0.9))).toEqual({
      sequence: 'T1w',
      evidence: 'acquisition TE 3 ms, TR 2300 ms, TI 900 ms: an inversion time near white matter’s null',
    });
    expect(scanSequence(named('FLAIR', 'SeriesDescription "AX FLAIR"'), times(0.012, 0.5))).toEqual({
      sequence: 'T1w',
      evidence:
        'acquisition TE 12 ms, TR 500 ms: short echo and repetition times, no inversion; SeriesDescription "AX FLAIR" reads as FLAIR',
    });
    expect(scanSequence(named('FLAIR', 'SeriesDescription "AX FLAIR"'), times(0.09, 9, 2.5))).toEqual({
      sequence: 'FLAIR',
      evidence: 'acquisition TE 90 ms, TR 9000 ms, TI 2500 ms: an inversion time that nulls CSF',
    });
  });

  it('keeps the names where there are no times or they name nothing', () => {
    const flair = named('FLAIR', 'BIDS suffix _FLAIR');
    expect(scanSequence(flair)).toEqual({ sequence: 'FLAIR', evidence: 'BIDS suffix _FLAIR' });
    expect(scanSequence(flair, times(0.02, 3))).toEqual({ sequence: 'FLAIR', evidence: 'BIDS suffix _FLAIR' });
    expect(scanSequence(named('unknown', 'no marker'), times(null, null))).toMatchObject({ sequence: 'unknown' });
  });
});
