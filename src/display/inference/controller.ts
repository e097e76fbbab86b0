/**
 * Main-thread side of inference: configures the worker from the page's settings, loads the model
 * registry, and classifies the current scan with the chosen model(s) whenever the scan, the choice
 * or the scan's sequence changes (auto-classify.ts; after confirmation when the sequences differ).
 * Results go to the store.
 */
import { useStore } from '../store/index.ts';
import { selectSequence } from '../store/index.ts';
import * as bridge from './bridge.ts';
import { sequenceMismatch, type ModelRun } from './inference-slice.ts';
import type { ProbeResult } from '../../core/backbone/web.ts';
import { shouldClassify } from './auto-classify.ts';
import { installTestHooks } from './test-hooks.ts';
import { parseWithdrawn, type Withdrawn } from '../../core/bundle/withdrawn.ts';

const PROBES_KEY = 'qumri.webgpuProbes';
const base = import.meta.env.BASE_URL;

function knownProbes(): Record<string, ProbeResult> {
  try {
    return JSON.parse(localStorage.getItem(PROBES_KEY) ?? '{}') as Record<string, ProbeResult>;
  } catch {
    return {};
  }
}

function rememberProbe(adapter: string, result: ProbeResult): void {
  localStorage.setItem(PROBES_KEY, JSON.stringify({ ...knownProbes(), [adapter]: result }));
}

/** Settings a URL can override (?backend=wasm&threads=1&maxModelMiB=…), for tests and benchmarks. */
function urlSettings() {
  const q = new URLSearchParams(location.search);
  const threads = Number(q.get('threads')) || (crossOriginIsolated ? 2 : 1);
  const deviceGiB = (navigator as { deviceMemory?: number }).deviceMemory ?? 4;
  const maxModelMiB = Number(q.get('maxModelMiB')) || Math.max(64, (deviceGiB * 1024) / 8);
  const backend = q.get('backend');
  return {
    threads,
    maxModelBytes: maxModelMiB * 2 ** 20,
    backend: backend === 'wasm' || backend === 'webgpu' ? (backend as 'wasm' | 'webgpu') : null,
  };
}

async function configure(): Promise<void> {
  const s = urlSettings();
  const st = useStore.getState();
  if (s.backend && st.backendChoice !== s.backend) st.setBackendChoice(s.backend);
  await bridge.configure({
    modelsUrl: `${base}models/`,
    ortWasmPaths: `${base}ort/`,
    threads: s.threads,
    backend: useStore.getState().backendChoice,
    knownProbes: knownProbes(),
    maxModelBytes: s.maxModelBytes,
  });
}

/**
 * models/withdrawn.json (the bundles the shipping rule took out), or null when the server has none: the
 * slice panel then only says that no model is installed.
 */
async function loadWithdrawn(): Promise<Withdrawn | null> {
  // Not */*: vite's SPA fallback would answer a missing file with index.html.
  const res = await fetch(`${base}models/withdrawn.json`, { headers: { Accept: 'application/json' } }).catch(
    () => null,
  );
  return res?.ok ? parseWithdrawn(await res.text()) : null;
}

/** Reads models/index.json and every manifest; picks a default model matching the scan's sequence. */
export async function loadRegistry(): Promise<void> {
  const st = useStore.getState();
  // Browsers keep crypto.subtle, which checks each model file's sha256, from pages that are neither
  // HTTPS nor localhost: say so, rather than fail on the first model.
  if (!isSecureContext) {
    st.setRegistry(
      null,
      `Models can only be verified and run on a page served over HTTPS or from this computer (localhost, 127.0.0.1); this one is plain HTTP from ${location.host}. See docs/deploy.md.`,
    );
    return;
  }
  try {
    await configure();
    const [registry, withdrawn] = await Promise.all([bridge.listModels(), loadWithdrawn()]);
    st.setWithdrawn(withdrawn); // first, so the slice panel never says "none installed" in between
    st.setRegistry(registry);
    if (!useStore.getState().modelId) {
      const seq = selectSequence(useStore.getState());
      const usable = registry.filter((e) => e.manifest && e.manifest.dims === 3);
      const pick =
        usable.find((e) => e.manifest!.sequence === seq && e.manifest!.architecture.head === 'quantum') ??
        usable.find((e) => e.manifest!.sequence === seq) ??
        usable[0];
      if (pick) useStore.getState().setModelId(pick.id);
    }
  } catch (err) {
    st.setRegistry(null, (err as Error).message);
  }
}

/** Lists the models again (served and kept in this browser) after one was adapted or removed. */
export async function refreshRegistry(): Promise<void> {
  useStore.getState().setRegistry(await bridge.listModels());
}

let runToken = 0;

/** Classifies the current scan with the chosen model (and the comparison model), if allowed. */
export async function classifyCurrent(): Promise<void> {
  const st = useStore.getState();
  const scan = st.scan;
  if (!scan || !st.modelId) return;
  const ids = [st.modelId, ...(st.compareId && st.compareId !== st.modelId ? [st.compareId] : [])];
  const manifests = ids.map((id) => st.registry?.find((e) => e.id === id)?.manifest);
  const seq = selectSequence(st);
  if (manifests.some((m) => sequenceMismatch(m, seq)) && !st.mismatchConfirmed) return;
  const token = ++runToken;
  const scanVersion = st.scanVersion;
  try {
    const runs: ModelRun[] = [];
    for (const id of ids) {
      st.setInferenceStatus(`Verifying and loading model ${id}…`);
      const model = await bridge.loadModel(id);
      if (model.probe) rememberProbe(model.probe.adapter, model.probe.result);
      if (token !== runToken) return;
      st.setInferenceStatus(`Classifying with ${model.manifest.name} (${model.backend.toUpperCase()})…`);
      performance.mark('qumri:classify-start');
      const result = await bridge.classify({
        modelId: id,
        volume: scan.volume,
        explain: !!model.manifest.outputs.feature_map,
        demoScan: st.scanIsDemo,
        acquisition: scan.info.acquisition,
      });
      if (token !== runToken) return;
      runs.push({ modelId: id, manifest: model.manifest, model, result, scanVersion });
    }
    useStore.getState().setRuns(runs);
    performance.mark('qumri:result');
  } catch (err) {
    if (token === runToken) useStore.getState().setInferenceError((err as Error).message);
  }
}

/** Re-applies the backend choice (restarts the worker) and classifies again. */
export async function changeBackend(choice: 'auto' | 'webgpu' | 'wasm'): Promise<void> {
  useStore.getState().setBackendChoice(choice);
  await configure();
  await classifyCurrent();
}

let started = false;

/** Starts the registry load and the automatic classification of each new scan or model choice. */
export function startInference(): void {
  if (started) return;
  started = true;
  installTestHooks();
  void loadRegistry();
  let loadStart: number | null = null;
  useStore.subscribe((s, prev) => {
    const scanChanged = s.scanVersion !== prev.scanVersion;
    if (s.loading && !prev.loading) loadStart = performance.now();
    if (scanChanged) {
      s.setScanLoadMs(loadStart === null ? null : performance.now() - loadStart);
      loadStart = null;
    }
    if (scanChanged && s.mismatchConfirmed) s.confirmMismatch(false);
    if (shouldClassify(s, prev)) {
      if (scanChanged) useStore.getState().setRuns([]);
      void classifyCurrent();
    }
  });
}
