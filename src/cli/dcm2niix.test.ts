import { describe, expect, it } from 'vitest';
import { convertSeries } from '../core/load/dicom.ts';
import { ScanError } from '../core/load/scan-error.ts';
import type { Volume } from '../core/volume.ts';
import { volumeToDicom } from '../../e2e/dicom-series.ts';
import { NodeDcm2niix } from './dcm2niix.ts';

const volume: Volume = {
  dims: [5, 4, 3],
  spacing: [2, 2, 3],
  affine: [2, 0, 0, -20, 0, 2, 0, 30, 0, 0, 3, -10, 0, 0, 0, 1],
  datatype: 'uint16',
  data: Float32Array.from({ length: 60 }, (_, i) => (i * 37) % 1000),
};
const files = () =>
  volumeToDicom(volume, { seriesNumber: 4, seriesDescription: 'AX FLAIR' }).map((f) => ({
    file: new File([f.bytes.slice()], f.name),
    path: `study/${f.name}`,
  }));

describe('NodeDcm2niix: convertSeries in node', () => {
  it('converts a series as the page does', async () => {
    const [s, ...more] = await convertSeries(files(), undefined, () => new NodeDcm2niix());
    expect(more).toHaveLength(0);
    expect([s.summary.seriesNumber, s.summary.seriesDescription, s.summary.dims]).toEqual([4, 'AX FLAIR', [5, 4, 3]]);
  });

  it('is stopped at the deadline with the ScanError the page gives', async () => {
    const err = await convertSeries(files(), { baseMs: 0, msPerMB: 0 }, () => new NodeDcm2niix()).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ScanError);
    expect((err as ScanError).code).toBe('dicom-convert');
    expect((err as ScanError).message).toMatch(/DICOM conversion stopped/);
  });
});
