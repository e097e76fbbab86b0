/** Load worker: NIfTI parsing and DICOM→NIfTI conversion (src/core/load) off the page's main thread. */
import * as Comlink from 'comlink';
import { convertDicom, convertSeries, loadSeries, parseConverted } from '../src/core/load/dicom.ts';
import { loadFailure, loadNifti } from '../src/core/load/load-result.ts';
import type { LoadResult, LoadWorkerApi } from '../src/core/protocol.ts';

/** The scan's voxels move to the page rather than being copied. */
const transferScan = (r: LoadResult): LoadResult => (r.ok ? Comlink.transfer(r, [r.scan.volume.data.buffer]) : r);

Comlink.expose({
  loadNifti: (bytes, fileName, opts) => transferScan(loadNifti(bytes, fileName, opts)),
  convertDicom: (files) => convertDicom(files),
  loadSeries: (id, opts) => transferScan(loadSeries(id, opts)),
  convertDicomSeries: async (files) => {
    try {
      const series = await convertSeries(files);
      return Comlink.transfer(
        { ok: true as const, series },
        series.map((s) => s.bytes.buffer as ArrayBuffer),
      );
    } catch (e) {
      return loadFailure(e);
    }
  },
  loadConverted: (series) => transferScan(parseConverted(series)),
} satisfies LoadWorkerApi);
