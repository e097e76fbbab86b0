/**
 * Main-thread side of loading: owns the load worker (life cycle from ../worker-bridge.ts), turns
 * files and URLs into a scan in the store, and remembers the last failed input so "load first
 * volume" can retry it.
 */
import { sha256Hex } from '../../core/bundle/hash.ts';
import { isDemoScan } from '../../core/guard/demo-scans.ts';
import type { ParseOptions } from '../../core/load/nifti.ts';
import type { ConvertedSeries, LoadResult, LoadWorkerApi } from '../../core/protocol.ts';
import { useStore } from '../store/index.ts';
import { workerBridge } from '../worker-bridge.ts';
import { planInput, type InputProbe } from './classify-input.ts';

export interface PickedFile {
  file: File;
  /** Path relative to the dropped folder ('' for loose files). */
  path: string;
}

type Retry = (opts: ParseOptions) => Promise<void>;

// Never stopped: converted DICOM series wait in the worker until the user picks one.
const { start: api } = workerBridge<LoadWorkerApi>(
  () => new Worker(new URL('../../../workers/load.worker.ts', import.meta.url), { type: 'module' }),
);

let lastRetry: Retry | null = null;

function apply(result: LoadResult, retry: Retry, isDemo: boolean): void {
  const { setScan, setError } = useStore.getState();
  if (result.ok) {
    lastRetry = null;
    setScan(result.scan, isDemo);
    return;
  }
  lastRetry = retry;
  setError({
    code: result.error.code,
    message: result.error.message,
    canTakeFirstVolume: !!result.error.options.canTakeFirstVolume,
  });
}

async function loadBytes(bytes: Uint8Array, name: string, opts: ParseOptions = {}): Promise<void> {
  useStore.getState().setLoading(`Reading ${name}…`);
  performance.mark('qumri:bytes-read');
  // Not transferred: the worker gets a structured-clone copy and these bytes stay for a retry.
  const [result, isDemo] = await Promise.all([api().loadNifti(bytes, name, opts), demoBytes(bytes)]);
  performance.mark('qumri:parsed');
  apply(result, (o) => loadBytes(bytes, name, o), isDemo);
}

/** One of the bundled demo phantoms, by content; false where the page cannot hash (no crypto.subtle). */
async function demoBytes(bytes: Uint8Array): Promise<boolean> {
  return isDemoScan(await sha256Hex(bytes).catch(() => null));
}

async function head(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.slice(0, 132).arrayBuffer());
}

/** The first bytes of each file, for planInput and planAdaptInput (classify-input.ts). */
export const probeFiles = (files: PickedFile[]): Promise<InputProbe[]> =>
  Promise.all(files.map(async ({ file }) => ({ name: file.name, head: await head(file) })));

// The adaptation panel's scans, read in the load worker without being shown.

/** Parses NIfTI bytes. */
export const parseInWorker = (bytes: Uint8Array, name: string): Promise<LoadResult> => api().loadNifti(bytes, name);

/** Converts DICOM files and hands every series over; the viewer's pending series choice is untouched. */
export const convertInWorker = (files: PickedFile[]) =>
  api().convertDicomSeries(files.map(({ file, path }) => ({ file, path: path || file.name })));

/** Parses a series convertInWorker returned. */
export const parseConvertedInWorker = (series: ConvertedSeries): Promise<LoadResult> => api().loadConverted(series);

/** Loads what the user dropped or picked; every failure ends as an error banner, never a throw. */
export async function loadFiles(files: PickedFile[]): Promise<void> {
  performance.mark('qumri:load-start');
  const { setError, setLoading, setSeriesChoice } = useStore.getState();
  try {
    const plan = planInput(await probeFiles(files));
    if (plan.kind === 'error') {
      lastRetry = null;
      setError({ code: 'not-nifti', message: plan.message, canTakeFirstVolume: false });
      return;
    }
    if (plan.kind === 'nifti') {
      const { file } = files[plan.index];
      await loadBytes(new Uint8Array(await file.arrayBuffer()), file.name);
      return;
    }
    const chosen = plan.indices.map((i) => files[i]);
    setLoading(`Converting ${chosen.length} DICOM file(s)…`);
    const res = await api().convertDicom(chosen.map(({ file, path }) => ({ file, path: path || file.name })));
    if (!res.ok) {
      lastRetry = null;
      setError({ code: res.error.code, message: res.error.message, canTakeFirstVolume: false });
      return;
    }
    if (res.series.length === 1) await loadSeries(res.series[0].id);
    else setSeriesChoice(res.series);
  } catch (e) {
    setError({
      code: 'internal',
      message: `Loading failed: ${e instanceof Error ? e.message : String(e)}`,
      canTakeFirstVolume: false,
    });
  }
}

export async function loadSeries(id: string, opts: ParseOptions = {}): Promise<void> {
  const { setLoading, setSeriesChoice } = useStore.getState();
  setSeriesChoice(null);
  setLoading('Reading the converted series…');
  apply(await api().loadSeries(id, opts), (o) => loadSeries(id, o), false);
}

export async function loadUrl(url: string, name: string): Promise<void> {
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    await loadBytes(new Uint8Array(await res.arrayBuffer()), name);
  } catch (e) {
    useStore.getState().setError({
      code: 'internal',
      message: `Could not load ${name}: ${e instanceof Error ? e.message : String(e)}`,
      canTakeFirstVolume: false,
    });
  }
}

/** Loads the last failed 4D/5D input again, keeping its first volume. */
export async function retryFirstVolume(): Promise<void> {
  const retry = lastRetry;
  if (retry) await retry({ firstVolumeOnly: true });
}

/** Files from a drop event, walking dropped folders (DataTransferItem.webkitGetAsEntry). */
export async function filesFromDrop(dt: DataTransfer): Promise<PickedFile[]> {
  const entries = Array.from(dt.items ?? [])
    .map((it) => (it.kind === 'file' ? it.webkitGetAsEntry() : null))
    .filter((e): e is FileSystemEntry => e !== null);
  if (entries.length === 0) return Array.from(dt.files).map((file) => ({ file, path: '' }));
  const out: PickedFile[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
      out.push({ file, path: prefix ? `${prefix}/${file.name}` : '' });
      return;
    }
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries returns at most ~100 entries per call; keep reading until it returns none.
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
      if (batch.length === 0) break;
      for (const e of batch) await walk(e, prefix ? `${prefix}/${entry.name}` : entry.name);
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}
