import { describe, expect, it } from 'vitest';
import { unzipSync } from 'fflate';
import { adaptedId, bundleZip, checkLabels, checkScans, seriesName } from './adapt-rules.ts';
import type { AdaptScan } from './adapt-slice.ts';

const CLASSES = ['healthy', 'TSC'] as const;
const scans = (...labels: (string | null)[]) => labels.map((label, i) => ({ name: `s${i}.nii.gz`, label }));

describe('checkScans', () => {
  const nifti = (label: string | null, state: AdaptScan['state'] = 'waiting') => ({
    name: 'a.nii.gz',
    label,
    state,
    source: { kind: 'nifti' as const, file: new File([], 'a.nii.gz') },
  });
  const six = ['healthy', 'TSC', 'healthy', 'TSC', 'healthy', 'TSC'].map((l) => nifti(l));

  it('waits for DICOM files converting, then asks to remove what gave no scan, then checks the labels', () => {
    const converting = { name: '3 DICOM files', label: null, state: 'converting' as const, source: null };
    const none = { name: 'x.dcm', label: null, state: 'failed' as const, source: null };
    expect(checkScans([...six, converting, none], CLASSES)).toEqual({
      ok: false,
      force: false,
      message: 'Converting the DICOM files…',
    });
    expect(checkScans([...six, none, none], CLASSES).message).toBe(
      'Remove the 2 items that gave no scan (the reason is shown on each).',
    );
    expect(checkScans([...six, none], CLASSES)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^Remove the item /),
    });
    expect(checkScans(six, CLASSES)).toEqual({ ok: true, force: false, message: null });
  });

  it('lets a scan that failed to read in the last run be tried again', () => {
    expect(checkScans([...six.slice(1), nifti('healthy', 'failed')], CLASSES).ok).toBe(true);
  });
});

describe('seriesName', () => {
  it('names the series by number, then description, protocol or file name, with its dimensions', () => {
    const s = {
      id: 's0',
      fileName: 'x_4.nii',
      seriesNumber: 4,
      seriesDescription: 'AX FLAIR',
      protocolName: 'p',
      dims: [64, 72, 24],
    };
    expect(seriesName(s)).toBe('DICOM series #4 AX FLAIR (64 × 72 × 24)');
    expect(seriesName({ ...s, seriesNumber: null, seriesDescription: '', protocolName: '' })).toBe(
      'DICOM series #? x_4.nii (64 × 72 × 24)',
    );
  });
});

describe('checkLabels', () => {
  it('waits for scans and for every label', () => {
    expect(checkLabels([], CLASSES)).toEqual({ ok: false, force: false, message: null });
    expect(checkLabels(scans('healthy', null, 'TSC', null), CLASSES)).toEqual({
      ok: false,
      force: false,
      message: 'Label every scan (2 without a label).',
    });
  });

  it('refuses labels of one class only, or a label the model does not have (another model was chosen)', () => {
    expect(checkLabels(scans('TSC', 'TSC', 'TSC'), CLASSES)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/no scans labelled "healthy"/),
    });
    expect(checkLabels(scans('healthy', 'MS'), CLASSES)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/label "MS" is not one of the model's classes/),
    });
  });

  it('warns below 3 scans of a class and lets the user adapt anyway; 3 of each is fine', () => {
    const few = checkLabels(scans('healthy', 'healthy', 'healthy', 'TSC', 'TSC'), CLASSES);
    expect(few).toMatchObject({ ok: true, force: true });
    expect(few.message).toMatch(/^Only 2 labelled "TSC": adaptation needs at least 3 scans of each class/);
    expect(checkLabels(scans('healthy', 'TSC', 'healthy', 'TSC', 'healthy', 'TSC'), CLASSES)).toEqual({
      ok: true,
      force: false,
      message: null,
    });
  });
});

describe('adaptedId', () => {
  it('is the source id, "adapted" and the UTC time, a valid bundle id, made unique against the list', () => {
    const date = new Date('2026-12-07T09:05:03.123Z');
    expect(adaptedId('tiny-qresnet', date, new Set())).toBe('tiny-qresnet-adapted-20261207T090503');
    expect(
      adaptedId(
        'tiny-qresnet',
        date,
        new Set(['tiny-qresnet-adapted-20261207T090503', 'tiny-qresnet-adapted-20261207T090503-2']),
      ),
    ).toBe('tiny-qresnet-adapted-20261207T090503-3');
    expect(adaptedId('m', date, new Set())).toMatch(/^[A-Za-z0-9._-]+$/);
  });
});

describe('bundleZip', () => {
  it('holds the files in one folder named by the id, byte for byte', () => {
    const files = new Map([
      ['manifest.json', new TextEncoder().encode('{"id": "x"}')],
      ['backbone.onnx', Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) % 251)],
    ]);
    const back = unzipSync(bundleZip('x-adapted', files));
    expect(Object.keys(back).sort()).toEqual(['x-adapted/backbone.onnx', 'x-adapted/manifest.json']);
    for (const [f, b] of files) expect(Buffer.from(back[`x-adapted/${f}`]).equals(Buffer.from(b))).toBe(true);
  });
});
