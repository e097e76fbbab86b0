/**
 * A folder of DICOM files as one scan, for `qumri adapt`'s labels.csv: the files are converted by
 * convertSeries (src/core/load/dicom.ts, the page's DICOM path) with dcm2niix in a node thread,
 * and must make exactly one series.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CONVERT_DEADLINE, convertSeries } from '../core/load/dicom.ts';
import { ScanError } from '../core/load/scan-error.ts';
import type { ConvertedSeries, DicomInputFile, DicomSeriesSummary } from '../core/protocol.ts';
import { NodeDcm2niix } from './dcm2niix.ts';

/** Every file under `dir`, in name order, each with its path inside `dir` (dcm2niix tells them apart by it). */
async function folderFiles(dir: string): Promise<DicomInputFile[]> {
  const names = (await readdir(dir, { recursive: true })).sort();
  const files: DicomInputFile[] = [];
  for (const name of names) {
    const full = path.join(dir, name);
    if (!(await stat(full)).isFile()) continue;
    files.push({ file: new File([await readFile(full)], path.basename(name)), path: name.split(path.sep).join('/') });
  }
  return files;
}

/** As the page names a series: number, description (or protocol, or file) and dimensions. */
const seriesText = (s: DicomSeriesSummary): string =>
  `DICOM series #${s.seriesNumber ?? '?'} ${s.seriesDescription || s.protocolName || s.fileName} (${s.dims.join(' × ')})`;

/** The one series among the files under `dir`; an Error saying what is there otherwise. */
export async function convertFolder(dir: string): Promise<ConvertedSeries> {
  const files = await folderFiles(dir);
  if (files.length === 0) throw new Error('an empty folder: a folder listed in labels.csv holds one DICOM series');
  let series: ConvertedSeries[];
  try {
    series = await convertSeries(files, CONVERT_DEADLINE, () => new NodeDcm2niix());
  } catch (err) {
    if (err instanceof ScanError && err.code === 'dicom-no-series')
      throw new Error(
        `no DICOM image series among its ${files.length} file(s): a folder listed in labels.csv holds one DICOM series (files with pixel data)`,
      );
    throw err;
  }
  if (series.length > 1)
    throw new Error(
      `${series.length} DICOM series in one folder (${series.map((s) => seriesText(s.summary)).join('; ')}): ` +
        'each is a scan of its own, so move each series into a folder of its own and list each folder on its own row',
    );
  return series[0];
}
