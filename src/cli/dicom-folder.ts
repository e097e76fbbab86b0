/**
 * A folder of DICOM files as one scan, for `qumri adapt`'s labels.csv and `qumri classify`'s inputs:
 * the files are converted by convertSeries (src/core/load/dicom.ts, the page's DICOM path) with
 * dcm2niix in a node thread, and must make exactly one series.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CONVERT_DEADLINE, convertSeries, parseConverted } from '../core/load/dicom.ts';
import { parseNifti, type LoadedScan } from '../core/load/nifti.ts';
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

/**
 * The one series among the files under `dir`; an Error saying what is there otherwise. `each` ends
 * the advice for a folder of several series: how this command takes one folder per series.
 */
export async function convertFolder(dir: string, each: string): Promise<ConvertedSeries> {
  const files = await folderFiles(dir);
  if (files.length === 0) throw new Error('an empty folder: a folder given as a scan holds one DICOM series');
  let series: ConvertedSeries[];
  try {
    series = await convertSeries(files, CONVERT_DEADLINE, () => new NodeDcm2niix());
  } catch (err) {
    if (err instanceof ScanError && err.code === 'dicom-no-series')
      throw new Error(
        `no DICOM image series among its ${files.length} file(s): a folder given as a scan holds one DICOM series (files with pixel data)`,
      );
    throw err;
  }
  if (series.length > 1)
    throw new Error(
      `${series.length} DICOM series in one folder (${series.map((s) => seriesText(s.summary)).join('; ')}): ` +
        `each is a scan of its own, so move each series into a folder of its own and ${each}`,
    );
  return series[0];
}

export interface ScanInput {
  /** What the scan is hashed by: a NIfTI file's own bytes, or a series' converted NIfTI, the bytes the page hashes. */
  bytes: Uint8Array;
  /** The scan parsed from `bytes` (a converted series carries its acquisition times); throws why it cannot be. */
  parse: () => LoadedScan;
}

/** A NIfTI file, or a folder holding one DICOM series (convertFolder, `each` as there), read as the page reads a drop. */
export async function readScanInput(file: string, each: string): Promise<ScanInput> {
  if ((await stat(file)).isDirectory()) {
    const series = await convertFolder(file, each);
    return {
      bytes: series.bytes,
      parse: () => {
        const r = parseConverted(series);
        if (!r.ok) throw new Error(r.error.message);
        return r.scan;
      },
    };
  }
  const bytes = new Uint8Array(await readFile(file));
  return {
    bytes,
    parse: () => {
      try {
        return parseNifti(bytes, path.basename(file));
      } catch (err) {
        if (err instanceof ScanError && err.code === 'dicom-file')
          throw new Error('a DICOM file, one slice of a series: name the folder that holds the whole series instead');
        throw err;
      }
    },
  };
}
