/**
 * `npm run bench:e2e`: drop→result time and per-stage times for a 320×320×48 clinical-like FLAIR,
 * in one run: the page on WASM with 1 and 2 threads (headless Chromium), onnxruntime-node with 1 and
 * 2 threads, and torch with 1 and 2 threads, for the same bundle; then 20 scans classified in a row
 * in one page with its memory measured after each (CDP Performance.getMetrics for the page's heap
 * after a forced GC; the renderer processes' resident memory for page + workers). Prints ratios, writes
 * bench/results/e2e.json.
 *
 *   npm run bench:e2e                       # shipped model (first 3D entry of public/models/index.json)
 *   npm run bench:e2e -- --model DIR        # any bundle folder
 * With no shipped model, a random-weight QResNet-34 (width 16, 128³) bundle is exported once into
 * bench/results/bundle-resnet34-q128 (same architecture as paper A's; timings do not depend on weights).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { loadBundle, type Manifest } from '../src/core/bundle/index.ts';
import { dirSource } from '../src/core/bundle/node.ts';
import { createNodeBackbone } from '../src/core/backbone/node.ts';
import { createClassifier } from '../src/core/head/classifier.ts';
import { kernelEngineFactory } from '../src/core/head/kernel-engine.ts';
import { parseNifti } from '../src/core/load/nifti.ts';
import { writeNifti } from '../src/core/load/nifti-write.ts';
import { parsePreprocessSpec, preprocess } from '../src/core/preprocess/index.ts';
import { makePhantom } from '../tools/phantom.ts';
import { copyBundle, startServer } from '../e2e/inference-server.ts';
import { CHROMIUM_ARGS, dropFiles, waitForScan } from '../e2e/harness.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const results = join(root, 'bench', 'results');
mkdirSync(results, { recursive: true });
const REPS = 3;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

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
  execFileSync('/usr/bin/python3', ['-c', code], { cwd: root, stdio: 'inherit', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } });
  return dir;
}

const argModel = process.argv.indexOf('--model');
const bundleDir = argModel > 0 ? process.argv[argModel + 1] : shippedBundle() ?? exportedBundle();
const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as Manifest;
console.log(`bundle: ${manifest.id} (${bundleDir}), grid ${manifest.preprocess.grid.join('×')}`);

// ---- the scan: 320×320×48 FLAIR, 0.72 × 0.72 × 3 mm, uint16, tilted like a clinical axial stack ----
const t = (8 * Math.PI) / 180;
const [sx, sy, sz] = [0.72, 0.72, 3];
const affine = [sx, 0, 0, -115, 0, sy * Math.cos(t), -sz * Math.sin(t), -100, 0, sy * Math.sin(t), sz * Math.cos(t), -60, 0, 0, 0, 1];
const scans = [1, 2].map((seed) => writeNifti(makePhantom({ dims: [320, 320, 48], affine, contrast: 'FLAIR', noise: 3, seed }), { datatype: 'uint16', gzip: true }));

// ---- node (onnxruntime-node + same preprocessing + same kernel) ----
async function nodeRun(threads: number) {
  const t0 = performance.now();
  const bundle = await loadBundle(dirSource(bundleDir));
  const clf = await createClassifier(bundle, await createNodeBackbone(bundle.backbone, bundle.manifest, { threads }), kernelEngineFactory());
  const modelLoadMs = performance.now() - t0;
  const runs: { loadMs: number; preprocessMs: number; backboneMs: number; headMs: number; totalMs: number }[] = [];
  for (let r = 0; r < REPS + 1; r++) {
    const a = performance.now();
    const { volume } = parseNifti(scans[0], 'bench_FLAIR.nii.gz');
    const b = performance.now();
    const input = preprocess(volume, parsePreprocessSpec(bundle.manifest.preprocess)).data;
    const c = performance.now();
    const p = await clf.classify(input);
    runs.push({ loadMs: b - a, preprocessMs: c - b, backboneMs: p.timings.backboneMs, headMs: p.timings.headMs, totalMs: performance.now() - a });
  }
  await clf.release();
  const warm = runs.slice(1);
  const pick = (k: keyof (typeof runs)[0]) => median(warm.map((x) => x[k]));
  return { threads, modelLoadMs, loadMs: pick('loadMs'), preprocessMs: pick('preprocessMs'), backboneMs: pick('backboneMs'), headMs: pick('headMs'), totalMs: pick('totalMs') };
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
  const r = spawnSync('/usr/bin/python3', ['-c', code], { cwd: root, encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } });
  if (r.status !== 0) return { threads, error: r.stderr.trim().split('\n').slice(-2).join(' ') };
  return { threads, forwardMs: Number(r.stdout.trim().split('\n').pop()) };
}

// ---- the page ----
async function buildApp(): Promise<string> {
  const out = join(results, 'dist');
  const vite = join(root, 'node_modules/.bin/vite');
  const r = spawnSync(vite, ['build', '--outDir', out, '--emptyOutDir', '--logLevel', 'error'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('vite build failed');
  return out;
}

/** Waits for a result card (or fails with the page's inference error). */
async function firstResult(page: Page, card = '[data-testid="result-card"]'): Promise<void> {
  await page.waitForSelector(`${card}, [data-testid="inference-error"]`, { timeout: 300_000 });
  const error = await page.locator('[data-testid="inference-error"]').allInnerTexts();
  if (error.length) throw new Error(`the page could not classify: ${error.join(' ')}`);
}

async function dropAndWait(page: Page, bytes: Uint8Array, name: string) {
  const before = Number((await page.getAttribute('[data-testid="viewer-canvas"]', 'data-scan-version')) ?? 0);
  const t0 = Date.now();
  await dropFiles(page, [{ name, bytes }]);
  const version = await waitForScan(page, before, 120_000);
  const shownMs = Date.now() - t0;
  const card = `[data-testid="result-card"][data-scan-version="${version}"]`;
  await firstResult(page, card);
  const totalMs = Date.now() - t0;
  const num = async (id: string) => Number(await page.getAttribute(`${card} [data-testid="${id}"]`, 'data-ms'));
  return {
    dropToResultMs: totalMs,
    loadAndShowMs: shownMs,
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
  const { processInfo } = (await browserCdp.send('SystemInfo.getProcessInfo')) as { processInfo: { type: string; id: number }[] };
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
  return { pageHeapBytes: metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN, rendererRssBytes: await rendererRssBytes(browserCdp) };
}

async function pageRuns(dist: string) {
  const server = await startServer(dist, (models) => {
    copyBundle(bundleDir, join(models, manifest.id));
    writeFileSync(join(models, 'index.json'), JSON.stringify({ models: [manifest.id] }));
  });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  try {
    const wasm: Record<string, unknown>[] = [];
    for (const threads of [1, 2]) {
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
      await page.goto(`${server.url}?backend=wasm&threads=${threads}`);
      await waitForScan(page, 0, 120_000);
      await firstResult(page); // the demo scan: loads and warms the model
      const runs: Awaited<ReturnType<typeof dropAndWait>>[] = [];
      for (let r = 0; r < REPS; r++) {
        runs.push(await dropAndWait(page, scans[r % 2], `bench${r}_FLAIR.nii.gz`));
        console.log(`page WASM ${threads} thread(s), drop ${r + 1}/${REPS}: ${runs[r].dropToResultMs} ms`);
      }
      const pick = (k: 'dropToResultMs' | 'loadAndShowMs' | 'preprocessMs' | 'backboneMs' | 'headMs') => median(runs.map((x) => x[k]));
      wasm.push({ threads, crossOriginIsolated: await page.evaluate(() => crossOriginIsolated), dropToResultMs: pick('dropToResultMs'), loadAndShowMs: pick('loadAndShowMs'), preprocessMs: pick('preprocessMs'), backboneMs: pick('backboneMs'), headMs: pick('headMs'), modelLoadMs: runs[0].modelLoadMs, backend: runs[0].backend, probability: runs[0].probability });
      await page.context().close();
    }
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
      console.log(`scan ${i + 1}/20: page heap ${(memory[i].pageHeapBytes / 2 ** 20).toFixed(1)} MiB, renderer RSS ${(memory[i].rendererRssBytes / 2 ** 20).toFixed(1)} MiB`);
    }
    await page.context().close();
    return { wasm, memory };
  } finally {
    await browser.close();
    server.stop();
  }
}

// ---- run everything ----
const node = [await nodeRun(1), await nodeRun(2)];
console.log('onnxruntime-node done', JSON.stringify(node));
const torch = [torchRun(1), torchRun(2)];
const dist = await buildApp();
const { wasm, memory } = await pageRuns(dist);

const first = memory[0];
const growth = (k: 'pageHeapBytes' | 'rendererRssBytes') => Math.max(...memory.slice(1).map((m) => m[k])) / first[k];
const report = {
  date: new Date().toISOString(),
  machine: `${process.platform} ${process.arch}, ${(await import('node:os')).cpus().length} cores`,
  bundle: { id: manifest.id, grid: manifest.preprocess.grid, bytes: Object.values(manifest.files).reduce((s, f) => s + f.bytes, 0) },
  scan: { dims: [320, 320, 48], spacing_mm: [sx, sy, sz], datatype: 'uint16' },
  node, torch, wasm,
  ratios: {
    wasmBackbone_vs_node_1thread: (wasm[0].backboneMs as number) / node[0].backboneMs,
    wasmBackbone_vs_node_2threads: (wasm[1].backboneMs as number) / node[1].backboneMs,
    node_vs_torch_1thread: 'forwardMs' in torch[0] ? node[0].backboneMs / torch[0].forwardMs : null,
    node_vs_torch_2threads: 'forwardMs' in torch[1] ? node[1].backboneMs / torch[1].forwardMs : null,
    memory_max_after_first_over_first_pageHeap: growth('pageHeapBytes'),
    memory_max_after_first_over_first_rendererRss: growth('rendererRssBytes'),
  },
  goals: { dropToResult_le_3s_2threads: (wasm[1].dropToResultMs as number) <= 3000, wasmBackbone_within_1_5x_node: (wasm[1].backboneMs as number) <= 1.5 * node[1].backboneMs, memory_growth_le_10pct: growth('rendererRssBytes') <= 1.1 },
  memory,
};
writeFileSync(join(results, 'e2e.json'), JSON.stringify(report, null, 1));
const f = (v: unknown) => (typeof v === 'number' ? v.toFixed(v < 10 ? 2 : 0) : String(v));
console.log('\nstage times (ms, median of warm runs)');
console.log('runner            threads  drop→result  load+show  preprocess  backbone  head');
for (const w of wasm) console.log(`page WASM         ${w.threads}        ${f(w.dropToResultMs)}        ${f(w.loadAndShowMs)}       ${f(w.preprocessMs)}         ${f(w.backboneMs)}      ${f(w.headMs)}`);
for (const n of node) console.log(`onnxruntime-node  ${n.threads}        ${f(n.totalMs)}        ${f(n.loadMs)}       ${f(n.preprocessMs)}         ${f(n.backboneMs)}      ${f(n.headMs)}`);
for (const t of torch) console.log(`torch             ${t.threads}        ${'forwardMs' in t ? `forward ${f(t.forwardMs)}` : t.error}`);
console.log('\nratios', JSON.stringify(report.ratios, null, 1));
console.log('goals', JSON.stringify(report.goals));
console.log(`wrote ${join(results, 'e2e.json')}`);
