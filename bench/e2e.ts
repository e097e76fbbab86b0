/**
 * `npm run bench:e2e`: drop→result time and per-stage times for a 320×320×48 clinical-like FLAIR,
 * in one run: the page on WASM with 1 and 2 threads (headless Chromium), onnxruntime-node with 1 and
 * 2 threads, and torch with 1 and 2 threads, for the same bundle; then 20 scans classified in a row
 * in one page with its memory measured after each (CDP Performance.getMetrics for the page's heap
 * after a forced GC; the renderer processes' resident memory for page + workers). Prints ratios, writes
 * bench/results/e2e.json.
 *
 * Drops: the DataTransfer is built in the page before the clock starts (the test driver's base64
 * transfer of the file is not the page's work). Per drop: `observed` times are when the test driver
 * saw the scan displayed / the result card (it polls on animation frames, so it also waits while
 * the page is busy after the paint); `painted` is when the result card was painted (Element Timing
 * renderTime minus the drop event's time); `overlay` when the Grad-CAM overlay was on screen.
 *
 * Backbone: besides its time inside each drop, the same Backbone.run (tensor, session.run, output
 * copies) is timed on one fixed input on both sides with nothing else running: in the page's worker
 * (window.qumriInference.benchBackbone) and in onnxruntime-node; and ONNX Runtime's own profiler
 * splits a run into kernels by operator type for onnxruntime-node and for the WASM build
 * (bench/backbone-profile.ts).
 *
 *   npm run bench:e2e                       # shipped model (first 3D FLAIR entry of public/models/index.json)
 *   npm run bench:e2e -- --model DIR        # any bundle folder
 *   npm run bench:e2e -- --baseline REF     # also the page of git REF (built in a temporary worktree), same run
 *   npm run bench:e2e -- --no-memory        # skip the 20-scan memory run
 * With no shipped model, a random-weight QResNet-34 (width 16, 128³) bundle is exported once into
 * bench/results/bundle-resnet34-q128 (same architecture as paper A's; timings do not depend on weights).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { loadBundle, type Manifest } from '../src/core/bundle/index.ts';
import { dirSource } from '../src/core/bundle/node.ts';
import { createNodeBackbone } from '../src/core/backbone/node.ts';
import { probeInput } from '../src/core/backbone/web.ts';
import { createClassifier } from '../src/core/head/classifier.ts';
import { kernelEngineFactory } from '../src/core/head/kernel-engine.ts';
import { parseNifti } from '../src/core/load/nifti.ts';
import { writeNifti } from '../src/core/load/nifti-write.ts';
import { parsePreprocessSpec, preprocess } from '../src/core/preprocess/index.ts';
import { makePhantom } from '../tools/phantom.ts';
import { copyBundle, startServer } from '../e2e/inference-server.ts';
import { CHROMIUM_ARGS, dispatchDrop, prepareDrop, waitForScan } from '../e2e/harness.ts';
import { summariseProfile, type BackboneProfile } from './backbone-profile.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const results = join(root, 'bench', 'results');
mkdirSync(results, { recursive: true });
const REPS = 3;
/** Backbone runs timed in isolation on each side (the first, a warm-up, reported apart). */
const BACKBONE_RUNS = 21;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const baselineRef = arg('--baseline');
const withMemory = !process.argv.includes('--no-memory');

// ---- the bundle: the first shipped 3D FLAIR model (the scans below are FLAIR) ----
function shippedBundle(): string | null {
  const index = join(root, 'public/models/index.json');
  if (!existsSync(index)) return null;
  for (const id of (JSON.parse(readFileSync(index, 'utf8')) as { models: string[] }).models) {
    const m = JSON.parse(readFileSync(join(root, 'public/models', id, 'manifest.json'), 'utf8')) as Manifest;
    if (m.dims === 3 && m.sequence === 'FLAIR') return join(root, 'public/models', id);
  }
  return null;
}

function exportedBundle(): string {
  const dir = join(results, 'bundle-resnet34-q128');
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  console.log('no shipped model: exporting a random-weight QResNet-34 (width 16, 128³) bundle for timing…');
  const code = `
import torch
torch.set_num_threads(2)
torch.manual_seed(0)
from training.models import build_model
from training.export import export_bundle
m = build_model(dict(backbone="resnet34", width=16, head="quantum"))
export_bundle(m, ${JSON.stringify(dir)}, "bench-resnet34-q128", input_shape=[1, 1, 128, 128, 128], n_reference=1, index=False,
              name="QResNet-34 (width 16), random weights, bench only", training_data={"synthetic": True, "description": "random weights (timing only)"})
`;
  execFileSync('/usr/bin/python3', ['-c', code], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
  });
  return dir;
}

const bundleDir = arg('--model') ?? shippedBundle() ?? exportedBundle();
const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as Manifest;
console.log(`bundle: ${manifest.id} (${bundleDir}), grid ${manifest.preprocess.grid.join('×')}`);

// ---- the scan: 320×320×48 FLAIR, 0.72 × 0.72 × 3 mm, uint16, tilted like a clinical axial stack ----
const t = (8 * Math.PI) / 180;
const [sx, sy, sz] = [0.72, 0.72, 3];
const affine = [
  sx,
  0,
  0,
  -115,
  0,
  sy * Math.cos(t),
  -sz * Math.sin(t),
  -100,
  0,
  sy * Math.sin(t),
  sz * Math.cos(t),
  -60,
  0,
  0,
  0,
  1,
];
const scans = [1, 2].map((seed) =>
  writeNifti(makePhantom({ dims: [320, 320, 48], affine, contrast: 'FLAIR', noise: 3, seed }), {
    datatype: 'uint16',
    gzip: true,
  }),
);

// ---- node (onnxruntime-node + same preprocessing + same kernel) ----
async function nodeRun(threads: number) {
  const t0 = performance.now();
  const bundle = await loadBundle(dirSource(bundleDir));
  const clf = await createClassifier(
    bundle,
    await createNodeBackbone(bundle.backbone, bundle.manifest, { threads }),
    kernelEngineFactory(),
  );
  const modelLoadMs = performance.now() - t0;
  const runs: { loadMs: number; preprocessMs: number; backboneMs: number; headMs: number; totalMs: number }[] = [];
  for (let r = 0; r < REPS + 1; r++) {
    const a = performance.now();
    const { volume } = parseNifti(scans[0], 'bench_FLAIR.nii.gz');
    const b = performance.now();
    const input = preprocess(volume, parsePreprocessSpec(bundle.manifest.preprocess)).data;
    const c = performance.now();
    const p = await clf.classify(input);
    runs.push({
      loadMs: b - a,
      preprocessMs: c - b,
      backboneMs: p.timings.backboneMs,
      headMs: p.timings.headMs,
      totalMs: performance.now() - a,
    });
  }
  const isolated = await isolatedBackbone((x) => clf.backbone.run(x));
  await clf.release();
  const warm = runs.slice(1);
  const pick = (k: keyof (typeof runs)[0]) => median(warm.map((x) => x[k]));
  return {
    threads,
    modelLoadMs,
    loadMs: pick('loadMs'),
    preprocessMs: pick('preprocessMs'),
    backboneMs: pick('backboneMs'),
    headMs: pick('headMs'),
    totalMs: pick('totalMs'),
    isolatedBackbone: isolated,
  };
}

/** The page's benchBackbone loop, in node: Backbone.run on one fixed input, BACKBONE_RUNS times. */
async function isolatedBackbone(run: (x: Float32Array) => Promise<unknown>) {
  const input = probeInput(manifest.input.shape.slice(1).reduce((a, b) => a * b, 1));
  const ms: number[] = [];
  for (let r = 0; r < BACKBONE_RUNS; r++) {
    const t0 = performance.now();
    await run(input);
    ms.push(performance.now() - t0);
  }
  return summariseRuns(ms);
}

function summariseRuns(ms: number[]) {
  const warm = ms.slice(1);
  return { firstMs: ms[0], medianMs: median(warm), minMs: Math.min(...warm), runs: warm.length };
}

/** ONNX Runtime's profile of the backbone (per operator type), in a child process per runtime. */
function profileBackbone(
  runtime: 'node' | 'wasm',
  threads: number,
): BackboneProfile | { runtime: string; threads: number; error: string } {
  const r = spawnSync(
    join(root, 'node_modules/.bin/tsx'),
    [join(root, 'bench/backbone-profile.ts'), join(bundleDir, 'backbone.onnx'), runtime, String(threads)],
    { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 180_000 },
  );
  return (
    summariseProfile(r.stdout ?? '', runtime, threads) ?? {
      runtime,
      threads,
      error: `no profile (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' ')}`,
    }
  );
}

// ---- torch (same architecture from the manifest's config; weights do not change the time) ----
function torchRun(threads: number): { threads: number; forwardMs: number } | { threads: number; error: string } {
  const config = (manifest.architecture as { config?: unknown }).config;
  if (!config) return { threads, error: 'the manifest has no architecture.config to rebuild the torch model from' };
  const code = `
import json, statistics, time, torch
torch.set_num_threads(${threads})
from training.models import build_model
m = build_model(json.loads(${JSON.stringify(JSON.stringify(config))})).eval()
x = torch.rand(${JSON.stringify(manifest.input.shape)})
with torch.no_grad():
    m(x)
    ts = []
    for _ in range(${REPS}):
        t = time.perf_counter(); m(x); ts.append(time.perf_counter() - t)
print(json.dumps(statistics.median(ts) * 1000))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', code], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
  });
  if (r.status !== 0) return { threads, error: r.stderr.trim().split('\n').slice(-2).join(' ') };
  return { threads, forwardMs: Number(r.stdout.trim().split('\n').pop()) };
}

// ---- the page ----
function buildApp(cwd: string, out: string): string {
  const vite = join(root, 'node_modules/.bin/vite');
  const r = spawnSync(vite, ['build', '--outDir', out, '--emptyOutDir', '--logLevel', 'error'], {
    cwd,
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`vite build failed in ${cwd}`);
  return out;
}

/**
 * The page of another commit, for before/after numbers from one run: a temporary git worktree at
 * `ref` sharing this checkout's node_modules, with the build outputs git ignores (the kernel .wasm,
 * ORT's runtime files) copied in, built with its own vite.config.ts.
 */
function buildBaseline(ref: string): { dist: string; commit: string } {
  const commit = execFileSync('git', ['rev-parse', ref], { cwd: root, encoding: 'utf8' }).trim();
  const tree = join(mkdtempSync(join(tmpdir(), 'qumri-baseline-')), 'tree');
  execFileSync('git', ['worktree', 'add', '--detach', tree, commit], { cwd: root, stdio: 'ignore' });
  try {
    symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
    cpSync(join(root, 'kernel/build'), join(tree, 'kernel/build'), { recursive: true });
    cpSync(join(root, 'public/ort'), join(tree, 'public/ort'), { recursive: true });
    return { dist: buildApp(tree, join(results, 'dist-baseline')), commit };
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: root, stdio: 'ignore' });
    rmSync(join(tree, '..'), { recursive: true, force: true });
  }
}

/** Waits for a result card (or fails with the page's inference error). */
async function firstResult(page: Page, card = '[data-testid="result-card"]'): Promise<void> {
  await page.waitForSelector(`${card}, [data-testid="inference-error"]`, { timeout: 300_000 });
  const error = await page.locator('[data-testid="inference-error"]').allInnerTexts();
  if (error.length) throw new Error(`the page could not classify: ${error.join(' ')}`);
}

/** Records Element Timing entries (the result card's paint) from the page's start. */
async function recordPaints(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const list: { identifier: string; renderTime: number }[] = [];
    Object.assign(globalThis, { qumriPaints: list });
    try {
      new PerformanceObserver((l) =>
        list.push(...(l.getEntries() as unknown as { identifier: string; renderTime: number }[])),
      ).observe({ type: 'element', buffered: true });
    } catch {
      // no Element Timing: painted times stay null
    }
  });
}

async function dropAndWait(page: Page, bytes: Uint8Array, name: string) {
  const before = Number((await page.getAttribute('[data-testid="viewer-canvas"]', 'data-scan-version')) ?? 0);
  const dt = await prepareDrop(page, [{ name, bytes }]);
  await page.evaluate(() => performance.mark('qumri:bench-drop'));
  const t0 = Date.now();
  await dispatchDrop(page, dt);
  const version = await waitForScan(page, before, 120_000);
  const shownMs = Date.now() - t0;
  const card = `[data-testid="result-card"][data-scan-version="${version}"]`;
  await firstResult(page, card);
  const totalMs = Date.now() - t0;
  // Builds that say which overlays are on screen: wait for the Grad-CAM one (the next drop must not
  // start under it); others get the same settling time after the result.
  const instrumented = await page.evaluate(
    () => document.querySelector('[data-testid="viewer-canvas"]')?.hasAttribute('data-overlays') ?? false,
  );
  let overlayMs: number | null = null;
  if (instrumented) {
    await page.waitForFunction(
      () =>
        /\bgradcam\b/.test(
          document.querySelector('[data-testid="viewer-canvas"]')?.getAttribute('data-overlays') ?? '',
        ),
      undefined,
      { timeout: 60_000 },
    );
    overlayMs = Date.now() - t0;
  }
  await page.waitForTimeout(500);
  const inPage = await page.evaluate((v) => {
    const drop = performance.getEntriesByName('qumri:bench-drop').at(-1)!.startTime;
    const paints =
      (globalThis as unknown as { qumriPaints?: { identifier: string; renderTime: number }[] }).qumriPaints ?? [];
    const painted = paints.find((p) => p.identifier === `qumri-result-${v}`);
    // No helper functions in here: the bundler's name helpers do not exist in the page.
    const at: Record<string, number | null> = {};
    for (const n of ['qumri:shown', 'qumri:result', 'qumri:overlay-shown']) {
      const e = performance.getEntriesByName(n).filter((x) => x.startTime >= drop)[0];
      at[n] = e ? e.startTime - drop : null;
    }
    return {
      paintedResultMs: painted ? painted.renderTime - drop : null,
      shownMs: at['qumri:shown'],
      resultMs: at['qumri:result'],
      overlayShownMs: at['qumri:overlay-shown'],
    };
  }, version);
  const num = async (id: string) => Number(await page.getAttribute(`${card} [data-testid="${id}"]`, 'data-ms'));
  return {
    dropToResultMs: totalMs,
    loadAndShowMs: shownMs,
    dropToOverlayMs: overlayMs,
    inPage,
    modelLoadMs: await num('timing-model'),
    preprocessMs: await num('timing-preprocess'),
    backboneMs: await num('timing-backbone'),
    headMs: await num('timing-head'),
    backend: await page.locator(`${card} [data-testid="backend-badge"]`).innerText(),
    probability: Number(await page.getAttribute(`${card} [data-testid="result-probability"]`, 'data-value')),
  };
}

type Cdp = { send(method: string, params?: object): Promise<unknown> };

/** Resident memory of the browser's renderer processes (the tab: page + its workers), from /proc. */
async function rendererRssBytes(browserCdp: Cdp): Promise<number> {
  const { processInfo } = (await browserCdp.send('SystemInfo.getProcessInfo')) as {
    processInfo: { type: string; id: number }[];
  };
  let total = 0;
  for (const p of processInfo.filter((x) => x.type === 'renderer')) {
    const status = readFileSync(`/proc/${p.id}/status`, 'utf8');
    total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  }
  return total;
}

/** Page heap after a forced GC (CDP Performance.getMetrics) and the renderer's resident memory. */
async function memoryNow(pageCdp: Cdp, browserCdp: Cdp) {
  await pageCdp.send('HeapProfiler.collectGarbage');
  const { metrics } = (await pageCdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
  return {
    pageHeapBytes: metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN,
    rendererRssBytes: await rendererRssBytes(browserCdp),
  };
}

type Drop = Awaited<ReturnType<typeof dropAndWait>>;

function summariseDrops(runs: Drop[]) {
  const med = (f: (d: Drop) => number | null) => {
    const v = runs.map(f).filter((x): x is number => x !== null && Number.isFinite(x));
    return v.length === runs.length ? median(v) : null;
  };
  return {
    dropToResultMs: med((d) => d.dropToResultMs),
    dropToResultPaintedMs: med((d) => d.inPage.paintedResultMs),
    loadAndShowMs: med((d) => d.loadAndShowMs),
    shownInPageMs: med((d) => d.inPage.shownMs),
    dropToOverlayMs: med((d) => d.dropToOverlayMs),
    preprocessMs: med((d) => d.preprocessMs),
    backboneMs: med((d) => d.backboneMs),
    headMs: med((d) => d.headMs),
  };
}

async function pageRuns(dist: string, label: string, opts: { memory: boolean }) {
  const server = await startServer(dist, (models) => {
    copyBundle(bundleDir, join(models, manifest.id));
    writeFileSync(join(models, 'index.json'), JSON.stringify({ models: [manifest.id] }));
  });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  try {
    const wasm: Record<string, unknown>[] = [];
    for (const threads of [1, 2]) {
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
      await recordPaints(page);
      await page.goto(`${server.url}?backend=wasm&threads=${threads}`);
      await waitForScan(page, 0, 120_000);
      await firstResult(page); // the demo scan: loads and warms the model
      await page.waitForTimeout(1000);
      // The backbone alone in the page's worker, nothing else running (builds without the hook: null).
      const bench = await page.evaluate(
        ({ id, runs }) => {
          const h = (
            window as unknown as {
              qumriInference?: {
                benchBackbone?: (id: string, runs: number) => Promise<{ backend: string; ms: number[] }>;
              };
            }
          ).qumriInference;
          return h?.benchBackbone ? h.benchBackbone(id, runs) : null;
        },
        { id: manifest.id, runs: BACKBONE_RUNS },
      );
      const runs: Drop[] = [];
      for (let r = 0; r < REPS; r++) {
        runs.push(await dropAndWait(page, scans[r % 2], `bench${r}_FLAIR.nii.gz`));
        const d = runs[r];
        console.log(
          `${label} WASM ${threads} thread(s), drop ${r + 1}/${REPS}: result observed ${d.dropToResultMs} ms, painted ${d.inPage.paintedResultMs?.toFixed(0) ?? '–'} ms, scan shown ${d.loadAndShowMs} ms, overlay ${d.dropToOverlayMs ?? '–'} ms`,
        );
      }
      wasm.push({
        threads,
        crossOriginIsolated: await page.evaluate(() => crossOriginIsolated),
        ...summariseDrops(runs),
        isolatedBackbone: bench ? { backend: bench.backend, ...summariseRuns(bench.ms) } : null,
        modelLoadMs: runs[0].modelLoadMs,
        backend: runs[0].backend,
        probability: runs[0].probability,
        drops: runs,
      });
      await page.context().close();
    }
    if (!opts.memory) return { wasm, memory: [] };
    // 20 scans in a row in one page.
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const cdp = await page.context().newCDPSession(page);
    const browserCdp = await browser.newBrowserCDPSession();
    await cdp.send('Performance.enable');
    await page.goto(`${server.url}?backend=wasm&threads=2`);
    await waitForScan(page, 0, 120_000);
    await firstResult(page);
    const memory = [];
    for (let i = 0; i < 20; i++) {
      await dropAndWait(page, scans[i % 2], `row${i}_FLAIR.nii.gz`);
      memory.push(await memoryNow(cdp, browserCdp));
      console.log(
        `scan ${i + 1}/20: page heap ${(memory[i].pageHeapBytes / 2 ** 20).toFixed(1)} MiB, renderer RSS ${(memory[i].rendererRssBytes / 2 ** 20).toFixed(1)} MiB`,
      );
    }
    await page.context().close();
    return { wasm, memory };
  } finally {
    await browser.close();
    server.stop();
  }
}

// ---- run everything ----
const started = Date.now();
const node = [await nodeRun(1), await nodeRun(2)];
console.log('onnxruntime-node done', JSON.stringify(node));
const profiles = [profileBackbone('node', 1), profileBackbone('node', 2), profileBackbone('wasm', 1)];
const torch = [torchRun(1), torchRun(2)];
const dist = buildApp(root, join(results, 'dist'));
const baselineBuild = baselineRef ? buildBaseline(baselineRef) : null;
const current = await pageRuns(dist, 'page', { memory: withMemory });
const baseline = baselineBuild
  ? {
      ref: baselineRef,
      commit: baselineBuild.commit,
      ...(await pageRuns(baselineBuild.dist, `baseline ${baselineRef}`, { memory: false })),
    }
  : null;
const { wasm, memory } = current;

type WasmRow = ReturnType<typeof summariseDrops> & {
  threads: number;
  isolatedBackbone: ReturnType<typeof summariseRuns> | null;
};
const w = wasm as unknown as WasmRow[];
const growth = (k: 'pageHeapBytes' | 'rendererRssBytes') =>
  memory.length ? Math.max(...memory.slice(1).map((m) => m[k])) / memory[0][k] : null;
const ratio = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null ? a / b : null);
const profileOf = (rt: string, th: number) =>
  profiles.find((p) => p.runtime === rt && p.threads === th && 'runMs' in p) as BackboneProfile | undefined;
const conv = (p?: BackboneProfile) => (p ? (p.byOp.FusedConv ?? 0) + (p.byOp.Conv ?? 0) : null);
const report = {
  date: new Date().toISOString(),
  machine: `${process.platform} ${process.arch}, ${(await import('node:os')).cpus().length} cores`,
  benchSeconds: 0,
  bundle: {
    id: manifest.id,
    grid: manifest.preprocess.grid,
    bytes: Object.values(manifest.files).reduce((s, f) => s + f.bytes, 0),
  },
  scan: { dims: [320, 320, 48], spacing_mm: [sx, sy, sz], datatype: 'uint16' },
  node,
  torch,
  wasm,
  backboneProfile: profiles,
  baseline,
  ratios: {
    // Same measurement on both sides: Backbone.run on one fixed input, nothing else running.
    wasmBackbone_vs_node_isolated_1thread: ratio(w[0].isolatedBackbone?.medianMs, node[0].isolatedBackbone.medianMs),
    wasmBackbone_vs_node_isolated_2threads: ratio(w[1].isolatedBackbone?.medianMs, node[1].isolatedBackbone.medianMs),
    // Inside a drop (the page: viewer and worker work overlap; node: nothing else running).
    wasmBackbone_vs_node_inDrop_1thread: ratio(w[0].backboneMs, node[0].backboneMs),
    wasmBackbone_vs_node_inDrop_2threads: ratio(w[1].backboneMs, node[1].backboneMs),
    // ONNX Runtime profiler, 1 thread: convolution kernels WASM / native, and everything else.
    wasmConvKernels_vs_native_1thread: ratio(conv(profileOf('wasm', 1)), conv(profileOf('node', 1))),
    node_vs_torch_1thread: 'forwardMs' in torch[0] ? node[0].backboneMs / torch[0].forwardMs : null,
    node_vs_torch_2threads: 'forwardMs' in torch[1] ? node[1].backboneMs / torch[1].forwardMs : null,
    memory_max_after_first_over_first_pageHeap: growth('pageHeapBytes'),
    memory_max_after_first_over_first_rendererRss: growth('rendererRssBytes'),
  },
  goals: {
    dropToResult_le_3s_2threads_observed: (w[1].dropToResultMs ?? Infinity) <= 3000,
    dropToResult_le_3s_2threads_painted: (w[1].dropToResultPaintedMs ?? Infinity) <= 3000,
    wasmBackbone_within_1_5x_node_isolated_2threads:
      (ratio(w[1].isolatedBackbone?.medianMs, node[1].isolatedBackbone.medianMs) ?? Infinity) <= 1.5,
    memory_growth_le_10pct: memory.length ? (growth('rendererRssBytes') ?? Infinity) <= 1.1 : null,
  },
  memory,
};
report.benchSeconds = Math.round((Date.now() - started) / 1000);
writeFileSync(join(results, 'e2e.json'), JSON.stringify(report, null, 1));

const f = (v: unknown) =>
  typeof v === 'number' ? v.toFixed(v < 10 ? 2 : 0) : v === null || v === undefined ? '–' : String(v);
const pad = (v: unknown, n: number) => f(v).padStart(n);
console.log('\nstage times (ms, median of warm runs; observed = seen by the test driver, painted = Element Timing)');
console.log(
  'runner                 threads  result observed  painted  scan shown  overlay  preprocess  backbone  head',
);
const row = (name: string, x: WasmRow & { dropToOverlayMs?: number | null }) =>
  console.log(
    `${name.padEnd(22)} ${pad(x.threads, 7)}  ${pad(x.dropToResultMs, 15)}  ${pad(x.dropToResultPaintedMs, 7)}  ${pad(x.loadAndShowMs, 10)}  ${pad(x.dropToOverlayMs, 7)}  ${pad(x.preprocessMs, 10)}  ${pad(x.backboneMs, 8)}  ${pad(x.headMs, 4)}`,
  );
for (const x of w) row('page WASM', x);
if (baseline) for (const x of baseline.wasm as unknown as WasmRow[]) row(`baseline ${baseline.ref}`.slice(0, 22), x);
for (const n of node)
  console.log(
    `${'onnxruntime-node'.padEnd(22)} ${pad(n.threads, 7)}  ${pad(n.totalMs, 15)}  ${pad(null, 7)}  ${pad(n.loadMs, 10)}  ${pad(null, 7)}  ${pad(n.preprocessMs, 10)}  ${pad(n.backboneMs, 8)}  ${pad(n.headMs, 4)}`,
  );
for (const t of torch)
  console.log(
    `torch                  ${pad(t.threads, 7)}  ${'forwardMs' in t ? `forward ${f(t.forwardMs)}` : t.error}`,
  );
console.log('\nbackbone alone (Backbone.run on one fixed input, median of warm runs; first run)');
for (const x of w)
  console.log(
    `  page WASM ${x.threads} thread(s): ${f(x.isolatedBackbone?.medianMs)} ms (first ${f(x.isolatedBackbone?.firstMs)})`,
  );
for (const n of node)
  console.log(
    `  onnxruntime-node ${n.threads} thread(s): ${f(n.isolatedBackbone.medianMs)} ms (first ${f(n.isolatedBackbone.firstMs)})`,
  );
console.log('ONNX Runtime profile per run (ms): run / kernels / outside kernels / convolutions');
for (const p of profiles)
  console.log(
    `  ${p.runtime} ${p.threads} thread(s): ${'runMs' in p ? `${f(p.runMs)} / ${f(p.kernelMs)} / ${f(p.outsideKernelsMs)} / ${f(conv(p))}` : p.error}`,
  );
console.log('\nratios', JSON.stringify(report.ratios, null, 1));
console.log('goals', JSON.stringify(report.goals));
console.log(`wrote ${join(results, 'e2e.json')} (${report.benchSeconds} s)`);
