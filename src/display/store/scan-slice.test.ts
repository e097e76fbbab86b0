import { describe, expect, it } from 'vitest';
import { create } from 'zustand';
import { createScanSlice, selectSequence, selectVolume, type ScanSlice } from './scan-slice.ts';
import type { AcquisitionTimes } from '../../core/guard/sequence-acquisition.ts';
import type { LoadedScan } from '../../core/load/nifti.ts';

function scan(
  name: string,
  sequence: 'FLAIR' | 'T2w' | 'unknown' = 'unknown',
  acquisition?: AcquisitionTimes,
): LoadedScan {
  return {
    volume: {
      dims: [2, 2, 2],
      spacing: [1, 1, 1],
      affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
      datatype: 'float32',
      data: new Float32Array(8),
    },
    info: {
      fileName: name,
      format: 'NIfTI-1',
      fileDims: [2, 2, 2],
      tookFirstVolume: false,
      orientation: 'RAS',
      affineSource: 'sform',
      datatype: 'float32',
      intensityRange: [0, 0],
      description: '',
      sequence: { sequence, source: 'none', evidence: '' },
      acquisition,
    },
  };
}

describe('scan slice', () => {
  const store = () => create<ScanSlice>()((...a) => createScanSlice(...a));

  it('an error never replaces the current scan', () => {
    const s = store();
    s.getState().setScan(scan('a.nii', 'FLAIR'), false);
    s.getState().setError({ code: 'wrong-magic', message: 'bad', canTakeFirstVolume: false });
    expect(s.getState().scan?.info.fileName).toBe('a.nii');
    expect(s.getState().scanVersion).toBe(1);
    expect(selectVolume(s.getState())?.dims).toEqual([2, 2, 2]);
  });

  it('a new scan clears the error, the loading label and the previous override, and says whether it is a demo phantom', () => {
    const s = store();
    s.getState().setScan(scan('a.nii'), true);
    expect(s.getState().scanIsDemo).toBe(true);
    s.getState().setSequenceOverride('T2w');
    expect(selectSequence(s.getState())).toBe('T2w');
    s.getState().setLoading('Reading…');
    s.getState().setError({ code: 'dims-2d', message: '2D', canTakeFirstVolume: false });
    s.getState().setScan(scan('b.nii', 'FLAIR'), false);
    expect(s.getState()).toMatchObject({
      error: null,
      loading: null,
      sequenceOverride: null,
      scanVersion: 2,
      scanIsDemo: false,
    });
    expect(selectSequence(s.getState())).toBe('FLAIR');
  });

  it("a DICOM series' acquisition times decide the sequence where they name one; the user's choice still wins", () => {
    const s = store();
    const spinEchoT1 = { echoTime: 0.012, repetitionTime: 0.5, inversionTime: null };
    s.getState().setScan(scan('t1', 'unknown', spinEchoT1), false);
    expect(selectSequence(s.getState())).toBe('T1w');
    s.getState().setSequenceOverride('FLAIR');
    expect(selectSequence(s.getState())).toBe('FLAIR');
    // Proton density (short echo, long repetition) names no sequence: the series fields decide.
    s.getState().setScan(scan('pd', 'T2w', { echoTime: 0.02, repetitionTime: 3, inversionTime: null }), false);
    expect(selectSequence(s.getState())).toBe('T2w');
  });

  it('without a scan the sequence is unknown and there is no volume', () => {
    const s = store();
    expect(selectSequence(s.getState())).toBe('unknown');
    expect(selectVolume(s.getState())).toBeNull();
  });
});
