import { describe, expect, it } from 'vitest';
import { planAdaptInput, planInput, type InputProbe } from './classify-input.ts';

const blank = new Uint8Array(132);
const dicomHead = (() => {
  const h = new Uint8Array(132);
  h.set([0x44, 0x49, 0x43, 0x4d], 128);
  return h;
})();
const niftiHead = (() => {
  const h = new Uint8Array(132);
  new DataView(h.buffer).setInt32(0, 348, true);
  return h;
})();
const probe = (name: string, head = blank): InputProbe => ({ name, head });

describe('planInput', () => {
  it('loads a single NIfTI by extension or by header', () => {
    expect(planInput([probe('a.nii.gz')])).toEqual({ kind: 'nifti', index: 0 });
    expect(planInput([probe('scan', niftiHead)])).toEqual({ kind: 'nifti', index: 0 });
    expect(planInput([probe('sub-01_T2w.json'), probe('sub-01_T2w.nii.gz')])).toEqual({ kind: 'nifti', index: 1 });
  });
  it('sends DICOM files (by magic, extension, or several extension-less files) to conversion', () => {
    expect(planInput([probe('IM0001', dicomHead)])).toEqual({ kind: 'dicom', indices: [0] });
    expect(planInput([probe('a.dcm'), probe('b.dcm'), probe('DICOMDIR')])).toEqual({ kind: 'dicom', indices: [0, 1] });
    expect(planInput([probe('IM1'), probe('IM2'), probe('.DS_Store')])).toEqual({ kind: 'dicom', indices: [0, 1] });
  });
  it('lets the NIfTI reader explain a single unknown file', () => {
    expect(planInput([probe('notes.pdf.exe')])).toEqual({ kind: 'nifti', index: 0 });
  });
  it('refuses several NIfTI files and sidecar-only drops with a message', () => {
    const two = planInput([probe('a.nii'), probe('b.nii.gz')]);
    expect(two.kind).toBe('error');
    expect(two.kind === 'error' && two.message).toContain('2 NIfTI files');
    expect(planInput([probe('x.json'), probe('y.txt')]).kind).toBe('error');
    expect(planInput([probe('x.json')])).toEqual({ kind: 'nifti', index: 0 });
    expect(planInput([]).kind).toBe('error');
  });
});

describe('planAdaptInput', () => {
  it('keeps every NIfTI file as a scan and converts the DICOM files of the same drop together', () => {
    expect(
      planAdaptInput([probe('a.nii.gz'), probe('IM1', dicomHead), probe('b', niftiHead), probe('IM2', dicomHead)]),
    ).toEqual({ nifti: [0, 2], dicom: [1, 3] });
  });
  it('skips sidecars and clutter, and converts several extension-less files as planInput does', () => {
    expect(planAdaptInput([probe('IM1'), probe('IM2'), probe('.DS_Store'), probe('a.json')])).toEqual({
      nifti: [],
      dicom: [0, 1],
    });
    expect(planAdaptInput([probe('x.json'), probe('DICOMDIR')])).toEqual({ nifti: [], dicom: [] });
  });
  it('converts a lone DICOM file, and lets the NIfTI reader explain a lone unknown one', () => {
    expect(planAdaptInput([probe('a.nii'), probe('IM1', dicomHead)])).toEqual({ nifti: [0], dicom: [1] });
    expect(planAdaptInput([probe('x.dcm')])).toEqual({ nifti: [], dicom: [0] });
    expect(planAdaptInput([probe('notes.pdf.exe'), probe('a.nii')])).toEqual({ nifti: [0, 1], dicom: [] });
  });
});
