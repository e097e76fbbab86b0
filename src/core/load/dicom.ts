/**
 * DICOM input: dcm2niix (WebAssembly, in its own Web Worker) converts the dropped files to NIfTI,
 * one per series; `loadSeries` then parses the series the user picks. The adaptation panel takes
 * every converted series from `convertSeries` instead, as scans of its own, and parses each with
 * `parseConverted`. Runs in the load worker (workers/load.worker.ts).
 */
import { Dcm2niix } from '@niivue/dcm2niix';
import type { ConvertedSeries, DicomInputFile, DicomSeriesSummary, LoadFailure, LoadResult } from '../protocol.ts';
import { loadFailure } from './load-result.ts';
import { parseNifti, type ParseOptions } from './nifti.ts';
import { ScanError } from './scan-error.ts';
import { detectSequence } from './sequence.ts';
import { acquisitionTimes } from '../guard/sequence-acquisition.ts';

const converted = new Map<string, ConvertedSeries>();

/** How long one conversion may take: `baseMs` plus `msPerMB` for each MB dropped. */
export interface ConvertDeadline {
  baseMs: number;
  msPerMB: number;
}

/**
 * dcm2niix converts uncompressed series at 45–80 MB/s on the 2-core test machine, busy with other
 * jobs (a 23 MB 256×256×176 series in 0.5 s, 63 MB in 0.8 s; a new WebAssembly instance takes about
 * 0.3 s). 2 s per MB leaves room for compressed transfer syntaxes (JPEG 2000, JPEG-LS: more work
 * per byte dropped, not measured here) on a computer many times slower, and 10 s for a cold
 * start; a damaged file on which dcm2niix spins (seconds on a 1 kB slice, or for ever) ends in an
 * error the user can read.
 */
export const CONVERT_DEADLINE: ConvertDeadline = { baseMs: 10_000, msPerMB: 2_000 };

/**
 * The part of @niivue/dcm2niix's Dcm2niix that convertSeries uses: the page passes none and gets
 * the package's (a Web Worker); `qumri adapt` passes src/cli/dcm2niix.ts's, the same WebAssembly
 * build in a node worker thread.
 */
export interface Dcm2niixLike {
  worker: { terminate(): void } | null;
  init(): Promise<unknown>;
  input(files: ArrayLike<File>): Dcm2niixRun;
}
export interface Dcm2niixRun {
  bids(value: 'y'): Dcm2niixRun;
  gzip(value: 'n'): Dcm2niixRun;
  run(): Promise<File[]>;
}

const sizeText = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.ceil(bytes / 1e3)} kB`);

/** `work`'s result, or `overdue()` thrown once `ms` have passed. */
async function within<T>(work: Promise<T>, ms: number, overdue: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(overdue()), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** dim[1..dim[0]] from a NIfTI-1 header (dcm2niix writes NIfTI-1, little-endian, uncompressed here). */
function headerDims(bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 348));
  if (bytes.byteLength < 348) return [];
  const nd = dv.getInt16(40, true);
  return Array.from({ length: Math.max(0, Math.min(7, nd)) }, (_, k) => dv.getInt16(42 + 2 * k, true));
}

/** Inside a JSON string: dcm2niix's `\9` for a tab becomes `\t`, a raw control character `\u00XX`. */
const repairString = (s: string) =>
  s.replace(/\\[\s\S]|[\u0000-\u001f]/g, (m) =>
    m === '\\9' ? '\\t' : m.length === 2 ? m : `\\u${m.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

const asObject = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/**
 * dcm2niix's JSON sidecar, which is not always JSON: it writes a tab inside a string as `\9`,
 * other control characters raw, and a non-finite number as a bare `nan` (or `inf`). Those are
 * repaired (`\t`, `\u00XX`, null); anything else unparseable gives an empty sidecar, since it only
 * supplies hints (series number, description, protocol) and the image itself is in the NIfTI.
 */
export function parseSidecar(text: string): Record<string, unknown> {
  try {
    return asObject(JSON.parse(text));
  } catch {
    // repaired below
  }
  const repaired = text.replace(/"(?:[^"\\]|\\[\s\S])*"|-?\b(?:nan|inf)\b/gi, (token) =>
    token.startsWith('"') ? repairString(token) : 'null',
  );
  try {
    return asObject(JSON.parse(repaired));
  } catch {
    return {};
  }
}

const noSeries = (n: number) =>
  new ScanError(
    'dicom-no-series',
    `No DICOM image series found among the ${n} dropped file(s); they are neither NIfTI nor readable DICOM with pixel data.`,
  );

/**
 * Converts every series among the files (dcm2niix groups them), each with its NIfTI bytes and the
 * sidecar's hints; keeps nothing. A conversion past `deadline` is stopped (tests give a shorter one).
 * `converter` makes the dcm2niix that runs it.
 */
export async function convertSeries(
  files: DicomInputFile[],
  deadline: ConvertDeadline = CONVERT_DEADLINE,
  converter: () => Dcm2niixLike = () => new Dcm2niix(),
): Promise<ConvertedSeries[]> {
  const input = files.map(({ file, path }) => Object.assign(file, { _webkitRelativePath: path }));
  // A fresh dcm2niix (Web Worker and WebAssembly instance) per conversion: the package's worker
  // creates /input on every run, so a second run on one instance fails.
  const dcm2niix = converter();
  const convert = async () => {
    await dcm2niix.init();
    return dcm2niix
      .input(input)
      .bids('y')
      .gzip('n')
      .run()
      .catch((e: unknown) => {
        const why = e instanceof Error ? e.message : String(e);
        // dcm2niix's kEXIT_NO_VALID_FILES_FOUND: no file it could read as a DICOM image.
        if (/exit code 2$/.test(why)) throw noSeries(files.length);
        throw new ScanError('dicom-convert', `dcm2niix could not convert the ${files.length} dropped file(s): ${why}.`);
      });
  };
  const bytes = files.reduce((n, { file }) => n + file.size, 0);
  const limitMs = deadline.baseMs + (deadline.msPerMB * bytes) / 1e6;
  let out: File[];
  try {
    out = await within(
      convert(),
      limitMs,
      () =>
        new ScanError(
          'dicom-convert',
          `DICOM conversion stopped: dcm2niix did not finish with the ${files.length} dropped file(s) (${sizeText(bytes)}) within ${Math.round(limitMs / 100) / 10} s ` +
            `(the limit: ${deadline.baseMs / 1000} s plus ${deadline.msPerMB / 1000} s per MB). Real series convert far faster; these files are probably damaged.`,
        ),
    );
  } finally {
    // Also ends a conversion still running at the deadline: terminate() stops a Web Worker mid-WebAssembly.
    dcm2niix.worker?.terminate();
  }
  const byBase = new Map<string, { nii?: File; json?: File }>();
  for (const f of out) {
    const m = /^(.*)\.(nii|json)$/.exec(f.name);
    if (!m) continue;
    const entry = byBase.get(m[1]) ?? {};
    entry[m[2] as 'nii' | 'json'] = f;
    byBase.set(m[1], entry);
  }
  const series: ConvertedSeries[] = [];
  for (const [base, { nii, json }] of byBase) {
    if (!nii) continue;
    const bytes = new Uint8Array(await nii.arrayBuffer());
    const sidecar = json ? parseSidecar(await json.text()) : {};
    series.push({
      summary: {
        id: `s${series.length}`,
        fileName: `${base}.nii`,
        seriesNumber: typeof sidecar.SeriesNumber === 'number' ? sidecar.SeriesNumber : null,
        seriesDescription: String(sidecar.SeriesDescription ?? ''),
        protocolName: String(sidecar.ProtocolName ?? ''),
        dims: headerDims(bytes),
      },
      bytes,
      acquisition: acquisitionTimes(sidecar),
    });
  }
  if (series.length === 0) throw noSeries(files.length);
  return series.sort((a, b) => (a.summary.seriesNumber ?? 0) - (b.summary.seriesNumber ?? 0));
}

/**
 * Converts every series among the files; the page asks the user to choose when there are several.
 * Returns summaries only: the converted volumes stay here until `loadSeries` picks one.
 */
export async function convertDicom(
  files: DicomInputFile[],
  deadline: ConvertDeadline = CONVERT_DEADLINE,
): Promise<{ ok: true; series: DicomSeriesSummary[] } | LoadFailure> {
  try {
    const series = await convertSeries(files, deadline);
    converted.clear();
    for (const s of series) converted.set(s.summary.id, s);
    return { ok: true, series: series.map((s) => s.summary) };
  } catch (e) {
    return loadFailure(e);
  }
}

/**
 * A converted series parsed, its sequence read from the file name and the sidecar's description and
 * protocol, with the sidecar's acquisition times for the guard.
 */
export function parseConverted({ summary, bytes, acquisition }: ConvertedSeries, opts: ParseOptions = {}): LoadResult {
  try {
    const scan = parseNifti(bytes, summary.fileName, opts);
    scan.info.sequence = detectSequence({
      fileName: summary.fileName,
      seriesDescription: summary.seriesDescription || undefined,
      protocolName: summary.protocolName || undefined,
    });
    scan.info.acquisition = acquisition;
    return { ok: true, scan };
  } catch (e) {
    return loadFailure(e);
  }
}

export function loadSeries(id: string, opts: ParseOptions = {}): LoadResult {
  const c = converted.get(id);
  if (!c) return loadFailure(new Error(`series ${id} is not among the converted series`));
  return parseConverted(c, opts);
}
