/**
 * Main-thread side of site adaptation (issue 22), the page's front end to src/core/adapt as
 * `qumri adapt` is the CLI's: each scan is parsed by the load worker and run through the chosen
 * model's own preprocessing and backbone in the inference worker (its features kept for this page's
 * life, by model and file sha256), then the worker fine-tunes the head. The adapted bundle is kept
 * in this browser's IndexedDB (src/core/bundle/local.ts) only when the user says so; it is then
 * listed, classified, exported and removed like any model. Nothing is sent anywhere.
 */
import { sha256Hex, indexedDbBundles } from '../../core/bundle/index.ts';
import type { LabelledScan } from '../../core/adapt/index.ts';
import { useStore } from '../store/index.ts';
import * as inference from '../inference/bridge.ts';
import { refreshRegistry } from '../inference/controller.ts';
import { parseInWorker } from '../load/load-controller.ts';
import { adaptedId, bundleZip, checkLabels } from './adapt-rules.ts';
import type { AdaptScan } from './adapt-slice.ts';

const kept = indexedDbBundles();
/** Features by `<model id>:<file sha256>`: a second run on the same scans skips the backbone. */
const featureCache = new Map<string, Float32Array>();
let running: AbortController | null = null;

/** The model the panel adapts: the chosen 3D model. */
function chosenModel() {
  const st = useStore.getState();
  return st.registry?.find((e) => e.id === st.modelId && e.manifest?.dims === 3) ?? null;
}

async function features(
  modelId: string,
  { key: rowKey, file }: AdaptScan,
  seen: Map<string, string>,
  signal: AbortSignal,
): Promise<{ features: Float32Array; sequence?: string }> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const sha = await sha256Hex(bytes);
  const twin = seen.get(sha);
  if (twin)
    throw new Error(
      `${file.name} and ${twin} are the same file: list each scan once, or cross-validation would test on a training scan`,
    );
  seen.set(sha, file.name);
  const key = `${modelId}:${sha}`;
  const cached = featureCache.get(key);
  if (cached) return { features: cached };
  const parsed = await parseInWorker(bytes, file.name);
  if (!parsed.ok) throw new Error(`${file.name}: ${parsed.error.message}`);
  signal.throwIfAborted();
  useStore.getState().setAdaptScanState(rowKey, 'features', parsed.scan.info.sequence.sequence);
  const f = await inference.scanFeatures(modelId, parsed.scan.volume, signal);
  featureCache.set(key, f);
  return { features: f, sequence: parsed.scan.info.sequence.sequence };
}

/** Reads every scan, then fine-tunes; progress, outcome or failure go to the store. */
export async function runAdaptation(): Promise<void> {
  const entry = chosenModel();
  const st = useStore.getState();
  if (!entry?.manifest || running) return;
  const scans = st.adaptScans;
  const check = checkLabels(
    scans.map((s) => ({ name: s.file.name, label: s.label })),
    entry.manifest.classes,
  );
  if (!check.ok) return;
  const abort = new AbortController();
  running = abort;
  st.setAdaptOutcome(null);
  st.setAdaptProgress(null);
  st.setAdaptPhase('running');
  try {
    await inference.loadModel(entry.id, abort.signal);
    const labelled: LabelledScan[] = [];
    const seen = new Map<string, string>();
    for (const [i, s] of scans.entries()) {
      useStore.getState().setAdaptScanStep({ index: i + 1, total: scans.length });
      useStore.getState().setAdaptScanState(s.key, 'reading');
      try {
        const f = await features(entry.id, s, seen, abort.signal);
        labelled.push({ name: s.file.name, features: f.features, label: s.label! });
        useStore.getState().setAdaptScanState(s.key, 'done', f.sequence);
      } catch (err) {
        useStore.getState().setAdaptScanState(s.key, 'failed');
        throw err;
      }
    }
    useStore.getState().setAdaptScanStep(null);
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
