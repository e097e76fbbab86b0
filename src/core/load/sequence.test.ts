import { describe, expect, it } from 'vitest';
import { detectSequence } from './sequence.ts';

describe('detectSequence', () => {
  it.each([
    ['sub-01_FLAIR.nii.gz', 'FLAIR', 'bids'],
    ['sub-tsc042_ses-1_acq-3d_run-2_FLAIR.nii', 'FLAIR', 'bids'],
    ['/data/bids/sub-01/anat/sub-01_T2w.nii.gz', 'T2w', 'bids'],
    ['sub-01_T1w.nii.gz', 'unknown', 'bids'],
    ['sub-01_T2starw.nii.gz', 'unknown', 'bids'],
    ['ms_patient01_FLAIR.nii.gz', 'FLAIR', 'filename'],
    ['ms_patient01_T2W.nii.gz', 'T2w', 'filename'],
    ['healthy_adult_T2.nii.gz', 'T2w', 'filename'],
    ['t2_tse_tra_5mm.nii', 'T2w', 'filename'],
    ['AX_T2_FLAIR.nii.gz', 'FLAIR', 'filename'],
    ['t2flair.nii', 'FLAIR', 'filename'],
    ['brain.nii.gz', 'unknown', 'none'],
    ['swi_t2star.nii.gz', 'unknown', 'none'],
    ['gre_T2_star.nii', 'unknown', 'none'],
    ['t1_mprage.nii.gz', 'unknown', 'none'],
  ])('%s → %s (%s)', (fileName, sequence, source) => {
    const d = detectSequence({ fileName });
    expect(d.sequence).toBe(sequence);
    expect(d.source).toBe(source);
  });

  it('reads DICOM SeriesDescription before ProtocolName and the file name', () => {
    const d = detectSequence({
      fileName: 'series_T2.nii',
      seriesDescription: 't2_tirm_tra_dark-fluid',
      protocolName: 'T2 TSE',
    });
    expect(d).toMatchObject({ sequence: 'FLAIR', source: 'dicom' });
    expect(d.evidence).toContain('SeriesDescription');
  });

  it('falls back to ProtocolName, then the NIfTI description', () => {
    expect(
      detectSequence({ fileName: 'x.nii', seriesDescription: 'Series 3', protocolName: 'AX T2W TSE' }),
    ).toMatchObject({ sequence: 'T2w', source: 'dicom' });
    expect(detectSequence({ fileName: 'x.nii', description: '3D FLAIR SPACE' })).toMatchObject({
      sequence: 'FLAIR',
      source: 'description',
    });
  });

  it('lets a BIDS suffix win over a conflicting series name', () => {
    expect(detectSequence({ fileName: 'sub-02_T2w.nii.gz', seriesDescription: 'FLAIR' }).sequence).toBe('T2w');
  });

  it('does not call T2* or T2 maps T2-weighted', () => {
    for (const s of ['T2*', 'GRE T2*', 'T2 MAP', 'T2STAR_SWI', 'T2 STAR']) {
      expect(detectSequence({ seriesDescription: s }).sequence, s).toBe('unknown');
    }
  });
});
