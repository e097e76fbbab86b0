/**
 * Main-thread side of site adaptation (issue 22), the page's front end to src/core/adapt as
 * `qumri adapt` is the CLI's: the files given are split into NIfTI scans and DICOM series (each
 * series converted by the load worker's dcm2niix, as the viewer's DICOM is, is one scan); each scan
 * is parsed by the load worker and run through the chosen model's own preprocessing and backbone in
 * the inference worker (its features kept for this page's life, by model and the sha256 of the file,
 * or of the series' converted NIfTI), then the worker fine-tunes the head. The adapted bundle is kept
 * in this browser's IndexedDB (src/core/bundle/local.ts) only when the user says so; it is then
 * listed, classified, exported and removed like any model. Nothing is sent anywhere.
 */
import { sha256Hex, indexedDbBundles } from '../../core/bundle/index.ts';
import type { LabelledScan } from '../../core/adapt/index.ts';
import type { LoadResult } from '../../core/protocol.ts';
import { useStore } from '../store/index.ts';
import * as inference from '../inference/bridge.ts';
import { refreshRegistry } from '../inference/controller.ts';
import { planAdaptInput, type AdaptInputPlan } from '../load/classify-input.ts';
import {
  convertInWorker,
  parseConvertedInWorker,
  parseInWorker,
  probeFiles,
  type PickedFile,
} from '../load/load-controller.ts';
import { adaptedId, bundleZip, checkScans, seriesName } from './adapt-rules.ts';
import type { AdaptScan, AdaptSource } from './adapt-slice.ts';

const kept = indexedDbBundles();
/** Features by `<model id>:<file sha256>`: a second run on the same scans skips the backbone. */
const featureCache = new Map<string, Float32Array>();
let running: AbortController | null = null;

/** The model the panel adapts: the chosen 3D model. */
function chosenModel() {
  const st = useStore.getState();
  return st.registry?.find((e) => e.id === st.modelId && e.manifest?.dims === 3) ?? null;
}

/** Lists the files dropped or picked on the panel: each NIfTI file a scan, each series among the DICOM files another. */
export async function addAdaptFiles(files: PickedFile[]): Promise<void> {
  const { addAdaptScans } = useStore.getState();
  let plan: AdaptInputPlan;
  try {
    plan = planAdaptInput(await probeFiles(files));
  } catch (err) {
    // A file gone or unreadable since it was dropped: one row says so, the list stays.
    const name = `${files.length} file${files.length === 1 ? '' : 's'} (${files[0]?.file.name ?? ''}…)`;
    addAdaptScans([{ name, source: null, state: 'failed', error: `Could not read: ${(err as Error).message}` }]);
    return;
  }
  addAdaptScans(plan.nifti.map((i) => ({ name: files[i].file.name, source: { kind: 'nifti', file: files[i].file } })));
  if (plan.dicom.length === 0) return;
  const dicom = plan.dicom.map((i) => files[i]);
  const name = `${dicom.length} DICOM file${dicom.length === 1 ? '' : 's'} (${dicom[0].file.name}${dicom.length > 1 ? '…' : ''})`;
  const [key] = addAdaptScans([{ name, source: null, state: 'converting' }]);
  const res = await convertInWorker(dicom).catch((err: unknown) => ({
    ok: false as const,
    error: { message: `DICOM conversion failed: ${(err as Error).message}` },
  }));
  useStore
    .getState()
    .replaceAdaptScan(
      key,
      res.ok
        ? res.series.map((series) => ({ name: seriesName(series.summary), source: { kind: 'dicom', series } }))
        : [{ name, source: null, state: 'failed', error: res.error.message }],
    );
}

/** The bytes a scan's features are cached and compared by, and the scan parsed from them. */
async function read(source: AdaptSource): Promise<{ bytes: Uint8Array; parse: () => Promise<LoadResult> }> {
  if (source.kind === 'dicom')
    return { bytes: source.series.bytes, parse: () => parseConvertedInWorker(source.series) };
  const bytes = new Uint8Array(await source.file.arrayBuffer());
  return { bytes, parse: () => parseInWorker(bytes, source.file.name) };
}

async function features(
  modelId: string,
  { key: rowKey, name, source }: AdaptScan,
  seen: Map<string, string>,
  signal: AbortSignal,
): Promise<{ features: Float32Array; sequence?: string }> {
  if (!source) throw new Error(`${name} gave no scan`);
  const { bytes, parse } = await read(source);
  const sha = await sha256Hex(bytes);
  const twin = seen.get(sha);
  if (twin)
    throw new Error(
      `${name} and ${twin} are the same scan: list each scan once, or cross-validation would test on a training scan`,
    );
  seen.set(sha, name);
  const key = `${modelId}:${sha}`;
  const cached = featureCache.get(key);
  if (cached) return { features: cached };
  const parsed = await parse();
  if (!parsed.ok) throw new Error(parsed.error.message);
  signal.throwIfAborted();
  const sequence = parsed.scan.info.sequence.sequence;
  useStore.getState().setAdaptScanState(rowKey, 'features', { sequence });
  const f = await inference.scanFeatures(modelId, parsed.scan.volume, signal);
  featureCache.set(key, f);
  return { features: f, sequence };
}

/** Reads every scan, then fine-tunes; progress, outcome or failure go to the store. */
export async function runAdaptation(): Promise<void> {
  const entry = chosenModel();
  const st = useStore.getState();
  if (!entry?.manifest || running) return;
  const scans = st.adaptScans;
  const check = checkScans(scans, entry.manifest.classes);
  if (!check.ok) return;
  const abort = new AbortController();
  running = abort;
  st.setAdaptOutcome(null);
  st.setAdaptProgress(null);
  st.setAdaptPhase('running');
  for (const s of scans) st.setAdaptScanState(s.key, 'waiting');
  try {
    await inference.loadModel(entry.id, abort.signal);
    const labelled: LabelledScan[] = [];
    const seen = new Map<string, string>();
    let failed = 0;
    // Every scan is read, so that each unreadable one says why at once and the others' features are cached.
    for (const [i, s] of scans.entries()) {
      useStore.getState().setAdaptScanStep({ index: i + 1, total: scans.length });
      useStore.getState().setAdaptScanState(s.key, 'reading');
      try {
        const f = await features(entry.id, s, seen, abort.signal);
        labelled.push({ name: s.name, features: f.features, label: s.label! });
        useStore.getState().setAdaptScanState(s.key, 'done', { sequence: f.sequence });
      } catch (err) {
        if (abort.signal.aborted) throw err;
        failed++;
        useStore.getState().setAdaptScanState(s.key, 'failed', { error: (err as Error).message });
      }
    }
    useStore.getState().setAdaptScanStep(null);
    if (failed)
      throw new Error(
        `${failed} of ${scans.length} scans could not be read (the reason is shown on each): remove or replace them, and adapt again.`,
      );
    const date = new Date();
    const id = adaptedId(entry.id, date, new Set((useStore.getState().registry ?? []).map((e) => e.id)));
    const run = await inference.adapt(
      { modelId: entry.id, scans: labelled, options: { force: check.force }, id, date: date.toISOString() },
      (p) => useStore.getState().setAdaptProgress(p),
      abort.signal,
    );
    useStore.getState().setAdaptOutcome({ sourceId: entry.id, run, saved: false });
    useStore.getState().setAdaptPhase('done');
  } catch (err) {
    const s = useStore.getState();
    if (abort.signal.aborted) s.setAdaptPhase('cancelled');
    else s.setAdaptPhase('failed', (err as Error).message);
  } finally {
    running = null;
    useStore.getState().setAdaptScanStep(null);
  }
}

/** Stops the run: the inference worker is terminated, and starts afresh (its models reload) on the next call. */
export function cancelAdaptation(): void {
  running?.abort();
}

/** Keeps the adapted model in this browser, lists it and classifies the current scan with it. */
export async function keepAdapted(): Promise<void> {
  const outcome = useStore.getState().adaptOutcome;
  if (!outcome || outcome.saved) return;
  try {
    const id = await kept.save(outcome.run.files);
    useStore.getState().setAdaptOutcome({ ...outcome, saved: true });
    await refreshRegistry();
    useStore.getState().setModelId(id);
  } catch (err) {
    useStore
      .getState()
      .setAdaptPhase('failed', `Could not keep the adapted model in this browser: ${(err as Error).message}`);
  }
}

/** Keeps the original: the adapted model is dropped unsaved. */
export function discardAdapted(): void {
  useStore.getState().setAdaptOutcome(null);
  useStore.getState().setAdaptPhase('idle');
}

/** Removes a model adapted here; a choice of it falls back to the model it came from, when listed. */
export async function removeAdapted(id: string): Promise<void> {
  const st = useStore.getState();
  const from = st.registry?.find((e) => e.id === id)?.manifest?.adapted?.from.id;
  await kept.remove(id);
  await inference.unloadModel(id);
  await refreshRegistry();
  const now = useStore.getState();
  const fallback = now.registry?.some((e) => e.id === from && e.manifest) ? from! : null;
  if (now.compareId === id) now.setCompareId(null);
  if (now.modelId === id) now.setModelId(fallback);
}

/** Downloads the model's bundle folder as `<id>.zip`, made here from this browser's copy. */
export async function exportAdapted(id: string): Promise<void> {
  const zip = bundleZip(id, await kept.files(id));
  // zipSync returns a view of a plain ArrayBuffer; TypeScript only knows ArrayBufferLike.
  const url = URL.createObjectURL(new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: `${id}.zip` });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
