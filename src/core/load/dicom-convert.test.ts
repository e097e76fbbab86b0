/**
 * convertSeries and parseConverted, the adaptation panel's DICOM path (every series of a drop is a
 * scan of its own), on the app's dcm2niix WebAssembly build run in node (as dicom-fuzz.test.ts).
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { stopDcm2niix } from './fuzz/dcm2niix-in-node.ts';
import { convertDicom, convertSeries, loadSeries, parseConverted } from './dicom.ts';
import { ScanError } from './scan-error.ts';
import type { Volume } from '../volume.ts';
import { volumeToDicom, type SeriesOptions } from '../../../e2e/dicom-series.ts';

vi.mock('@niivue/dcm2niix', () => import('./fuzz/dcm2niix-in-node.ts'));
afterAll(() => stopDcm2niix());

function volume(dims: [number, number, number]): Volume {
  const [nx, ny, nz] = dims;
  const affine = [2, 0, 0, -20, 0, 2, 0, 30, 0, 0, 3, -10, 0, 0, 0, 1];
  const data = Float32Array.from({ length: nx * ny * nz }, (_, i) => (i * 37) % 1000);
  return { dims, spacing: [2, 2, 3], affine, datatype: 'uint16', data };
}

const files = (dims: [number, number, number], opts: SeriesOptions) =>
  volumeToDicom(volume(dims), opts).map((f) => ({ file: new File([f.bytes.slice()], f.name), path: f.name }));

describe('convertSeries', () => {
  it('hands over every series of a drop, in series order, each parsed with the sequence its description names', async () => {
    const t2 = files([5, 4, 3], { seriesNumber: 7, seriesDescription: 'AX T2 TSE' });
    const flair = files([6, 5, 4], { seriesNumber: 3, seriesDescription: 'AX FLAIR' });
    const series = await convertSeries([...t2, ...flair]);
    expect(series.map((s) => [s.summary.seriesNumber, s.summary.seriesDescription, s.summary.dims])).toEqual([
      [3, 'AX FLAIR', [6, 5, 4]],
      [7, 'AX T2 TSE', [5, 4, 3]],
    ]);
    const scans = series.map((s) => parseConverted(s));
    expect(scans.map((r) => r.ok && [r.scan.volume.dims, r.scan.info.sequence.sequence])).toEqual([
      [[6, 5, 4], 'FLAIR'],
      [[5, 4, 3], 'T2w'],
    ]);
  });

  it("leaves the series the viewer's chooser waits on where they are", async () => {
    const chooser = await convertDicom(files([6, 5, 4], { seriesNumber: 2, seriesDescription: 'AX FLAIR' }));
    expect(chooser.ok).toBe(true);
    await convertSeries(files([5, 4, 3], { seriesNumber: 9, seriesDescription: 'AX T2 TSE' }));
    const kept = loadSeries('s0');
    expect(kept.ok && kept.scan.volume.dims).toEqual([6, 5, 4]);
  });

  it('refuses DICOM files without pixel data with a ScanError that says so', async () => {
    const none = files([5, 4, 1], { seriesNumber: 5, seriesDescription: 'AX FLAIR', pixelData: false });
    const err = await convertSeries(none).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScanError);
    expect((err as ScanError).message).toMatch(/No DICOM image series found among the 1 dropped file/);
  });
});
