/**
 * e2e for in-browser inference (issue #6), on the tiny test bundles (fixtures/bundles)
 * served beside the app's own models: probability on WASM equal to node's, Grad-CAM overlay,
 * quantum panel and OpenQASM download, comparison mode, sequence-mismatch confirmation, refused
 * models (tampered, broken manifest, missing file, too large), WebGPU (SwiftShader) against WASM,
 * device lost, offline reload, report export, and no request leaving the origin.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startTestServer } from './inference-server.ts';
import { loadBundle } from '../src/core/bundle/index.ts';
import { dirSource } from '../src/core/bundle/node.ts';
import { createNodeBackbone } from '../src/core/backbone/node.ts';
import { createClassifier } from '../src/core/head/classifier.ts';
import { kernelEngineFactory } from '../src/core/head/kernel-engine.ts';
import { parseNifti } from '../src/core/load/nifti.ts';
import { writeNifti } from '../src/core/load/nifti-write.ts';
import { parsePreprocessSpec, preprocess } from '../src/core/preprocess/index.ts';
import { gradCam } from '../src/core/explain/index.ts';
import { makePhantom } from '../tools/phantom.ts';
import { sliceInput } from '../src/core/preprocess/slice2d.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const server = await startTestServer();
process.env.QUMRI_E2E_URL = server.url;
// The harness reads QUMRI_E2E_URL when it loads, so it is imported after the server is up.
const harness = await import('./harness.ts');
const { dropFiles, run, test, waitForScan } = harness;
const assert: (cond: unknown, message: string) => asserts cond = harness.assert;

/** Node's answer for the demo scan with a bundle folder (same preprocessing, onnxruntime-node, same kernel): P(positive) and the Grad-CAM map's mean and cell grid. */
async function nodeDemo(dir: string): Promise<{ probability: number; camMean: number; cells: number[] }> {
  const bundle = await loadBundle(dirSource(dir));
  const clf = await createClassifier(
    bundle,
    await createNodeBackbone(bundle.backbone, bundle.manifest, { threads: 1 }),
    kernelEngineFactory(),
  );
  const { volume } = parseNifti(
    new Uint8Array(readFileSync(join(root, 'public/demo/tsc-flair.nii.gz'))),
    'tsc-flair.nii.gz',
  );
  const pre = preprocess(volume, parsePreprocessSpec(bundle.manifest.preprocess));
  const p = await clf.classify(pre.data, { explain: true });
  await clf.release();
  const cam = gradCam({
    ...p.explain!,
    grid: bundle.manifest.preprocess.grid,
    gridAffine: pre.affine,
    scanDims: volume.dims,
    scanAffine: volume.affine,
    gridMask: pre.mask,
  });
  return {
    probability: p.probability,
    camMean: cam.reduce((a, b) => a + b, 0) / cam.length,
    cells: p.explain!.featureMapDims.slice(1),
  };
}
const testdata = (id: string) => join(root, 'fixtures/bundles', id);
const NODE = {
  'tiny-q': (await nodeDemo(testdata('tiny-q'))).probability,
  'tiny-c': (await nodeDemo(testdata('tiny-c'))).probability,
};

async function open(page: Page, query = ''): Promise<void> {
  if (query) await page.goto(new URL(query, server.url).toString());
  await waitForScan(page, 0);
}

async function probability(page: Page, modelId: string, timeout = 60_000): Promise<number> {
  const sel = `[data-testid="result-card"][data-model="${modelId}"] [data-testid="result-probability"]`;
  await page.waitForSelector(sel, { timeout });
  return Number(await page.getAttribute(sel, 'data-value'));
}

const badge = (page: Page, modelId: string) =>
  page.locator(`[data-testid="result-card"][data-model="${modelId}"] [data-testid="backend-badge"]`).innerText();

function assertSameOrigin(requests: string[]): void {
  const origin = new URL(server.url).origin;
  const outside = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert(outside.length === 0, `requests left the page's origin: ${outside.join(', ')}`);
}

test('demo scan gives a probability on WASM equal to node, with a Grad-CAM overlay and a PNG report', async ({
  page,
  requests,
  screenshot,
}) => {
  await open(page, '?backend=wasm');
  const p = await probability(page, 'tiny-q');
  assert((await badge(page, 'tiny-q')) === 'WASM', `backend badge: ${await badge(page, 'tiny-q')}`);
  assert(Math.abs(p - NODE['tiny-q']) < 1e-3, `page ${p} vs node ${NODE['tiny-q']}`);
  await page.waitForSelector('[data-testid="gradcam-ready"]', { state: 'attached' });
  assert(
    Number(await page.getAttribute('[data-testid="gradcam-ready"]', 'data-max')) === 1,
    'Grad-CAM map is normalised to a max of 1',
  );
  const cells = await page.locator('[data-testid="gradcam-cells"]').innerText();
  assert(/\d+×\d+×\d+ cells over the \d+×\d+×\d+ model input/.test(cells), `Grad-CAM resolution stated: ${cells}`);
  for (const id of ['timing-model', 'timing-preprocess', 'timing-backbone', 'timing-head', 'timing-grad-cam']) {
    assert(
      /\d+(\.\d+)? (ms|s)$/.test(await page.locator(`[data-testid="${id}"]`).first().innerText()),
      `${id} shows a time`,
    );
  }
  await screenshot('inference-wasm');
  const report = async (name: string) => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('[data-testid="report-download"]'),
    ]);
    const png = readFileSync((await download.path())!);
    mkdirSync(harness.artifacts, { recursive: true });
    writeFileSync(join(harness.artifacts, name), png);
    return png;
  };
  const png = await report('report-radiological.png');
  assert(png.subarray(1, 4).toString() === 'PNG' && png.length > 20_000, `report is a PNG of ${png.length} bytes`);
  // The report follows the viewer's left-right convention (radiological by default).
  const viewerBefore = await page.locator('[data-testid="viewer-canvas"]').screenshot();
  await page.click('[data-testid="convention-neurological"]');
  await page.waitForTimeout(500);
  const viewerAfter = await page.locator('[data-testid="viewer-canvas"]').screenshot();
  assert(!viewerBefore.equals(viewerAfter), 'the viewer redraws in neurological convention');
  const neuro = await report('report-neurological.png');
  assert(!neuro.equals(png), 'the report changes with the convention');
  assertSameOrigin(requests);
});

test('quantum panel (circuit, ⟨Z⟩/⟨X⟩, seeded shots, OpenQASM 3 that parses) and classical-vs-quantum comparison', async ({
  page,
}) => {
  await open(page, '?backend=wasm');
  await probability(page, 'tiny-q');
  await page.waitForSelector('[data-testid="circuit-svg"]');
  const gates = await page.locator('[data-testid="circuit-svg"] .gate').count();
  assert(gates === 18, `circuit draws 18 gates (ZZ map reps 2 + RealAmplitudes reps 2 on 2 qubits), got ${gates}`);
  const exactRows = await page.locator('[data-testid="expectations"] tbody tr').allInnerTexts();
  assert(exactRows.length === 2, 'one ⟨Z⟩/⟨X⟩ row per qubit');
  await page.check('[data-testid="mode-shots"]');
  await page.waitForFunction(() =>
    /shots, seed/.test(document.querySelector('[data-testid="quantum-panel"]')?.textContent ?? ''),
  );
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="qasm-download"]')]);
  const qasm = readFileSync((await download.path())!, 'utf8');
  const lines = qasm
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('//'));
  assert(lines[0] === 'OPENQASM 3.0;', `first line: ${lines[0]}`);
  // Every statement is one of the forms the exporter writes (stdgates.inc only), with finite angles.
  const forms = [
    /^include "stdgates\.inc";$/,
    /^(qubit|bit)\[\d+\] \w+;$/,
    /^(h|x|y|z|s|t) q\[\d+\];$/,
    /^(rx|ry|rz|p)\(-?\d+(\.\d+)?(e[+-]?\d+)?\) q\[\d+\];$/,
    /^(cx|cz|swap) q\[\d+\], q\[\d+\];$/,
    /^\w+(\[\d+\])? = measure q(\[\d+\])?;$/,
    /^barrier q;$/,
  ];
  const bad = lines.slice(1).filter((l) => !forms.some((f) => f.test(l)));
  assert(bad.length === 0, `unparsable QASM lines: ${bad.join(' | ')}`);
  assert(
    lines.filter((l) => /^cx /.test(l)).length === 2 * 2 + 2,
    'ZZ blocks are CX·P·CX (2 reps) plus 2 RealAmplitudes CX',
  );
  // Comparison mode: the classical model beside the quantum one on the same scan.
  await page.selectOption('[data-testid="compare-select"]', 'tiny-c');
  const pc = await probability(page, 'tiny-c');
  const pq = await probability(page, 'tiny-q');
  assert(
    Math.abs(pc - NODE['tiny-c']) < 1e-3 && Math.abs(pq - NODE['tiny-q']) < 1e-3,
    `compare: ${pq}/${pc} vs node ${NODE['tiny-q']}/${NODE['tiny-c']}`,
  );
  await page.waitForSelector('[data-testid="compare-delta"]');
});

test('a head with two quantum layers: the quantum panel shows the one picked', async ({ page }) => {
  await open(page, '?backend=wasm');
  await probability(page, 'tiny-q');
  assert(
    (await page.locator('[data-testid="quantum-layer-select"]').count()) === 0,
    'no layer picker for a head with one quantum layer',
  );
  await page.selectOption('[data-testid="model-select"]', 'tiny-qq');
  await probability(page, 'tiny-qq');
  await page.waitForSelector('[data-testid="quantum-layer-select"]');
  const options = await page.locator('[data-testid="quantum-layer-select"] option').allInnerTexts();
  assert(
    options.length === 2 && /2 inputs → 2 outputs/.test(options[0]) && /2 inputs → 1 outputs/.test(options[1]),
    `layer options: ${options.join(' | ')}`,
  );
  const readout = () => page.locator('[data-testid="quantum-readout"]').innerText();
  await page.waitForFunction(
    () => (document.querySelector('[data-testid="quantum-readout"]')?.textContent ?? '').length > 0,
  );
  const first = await readout();
  assert(
    first.split(', ').length === 2 && /readout z/.test(await page.locator('[data-testid="quantum-panel"]').innerText()),
    `layer 1 reads ⟨Z⟩ of 2 qubits: ${first}`,
  );
  await page.selectOption('[data-testid="quantum-layer-select"]', '1');
  await page.waitForFunction(
    () =>
      /readout parity/.test(document.querySelector('[data-testid="quantum-panel"]')?.textContent ?? '') &&
      (document.querySelector('[data-testid="quantum-readout"]')?.textContent ?? '').length > 0,
  );
  const second = await readout();
  assert(second.split(', ').length === 1, `layer 2 reads the parity: ${second}`);
  await page.waitForSelector('[data-testid="circuit-svg"]');
});

test('a T2w scan with a FLAIR model asks for confirmation before classifying', async ({ page }) => {
  await open(page, '?backend=wasm');
  await probability(page, 'tiny-q');
  const vol = makePhantom({ dims: [64, 72, 56], spacing: [2.5, 2.5, 2.5], contrast: 'T2w', noise: 2, seed: 3 });
  await dropFiles(page, [{ name: 'sub-01_T2w.nii.gz', bytes: writeNifti(vol, { datatype: 'uint16', gzip: true }) }]);
  await page.waitForSelector('[data-testid="sequence-mismatch"]');
  assert(
    /T2w scan but .* trained on FLAIR/.test(await page.locator('[data-testid="sequence-mismatch"]').innerText()),
    'mismatch message names both sequences',
  );
  assert((await page.locator('[data-testid="result-card"]').count()) === 0, 'no result before confirmation');
  await page.click('[data-testid="confirm-mismatch"]');
  await probability(page, 'tiny-q');
});

test('a tampered file, a broken manifest and a missing file each refuse their model with a clear message', async ({
  page,
}) => {
  await open(page, '?backend=wasm');
  await page.selectOption('[data-testid="model-select"]', 'tiny-q-tampered');
  await page.waitForSelector('[data-testid="inference-error"]', { timeout: 60_000 });
  const msg = await page.locator('[data-testid="inference-error"]').innerText();
  assert(/backbone\.onnx has sha256 .*refusing the model/.test(msg), `message: ${msg}`);
  await page.waitForSelector('[data-testid="model-broken"]');
  const broken = await page.locator('[data-testid="model-broken"]').allInnerTexts();
  assert(
    broken.some((t) => /^broken-json: .*not valid JSON/.test(t)),
    `broken list: ${broken.join(' | ')}`,
  );
  await page.selectOption('[data-testid="model-select"]', 'missing-file');
  await page.waitForSelector('[data-testid="inference-error"]', { timeout: 60_000 });
  await page.waitForFunction(
    () => /cannot read head\.json/.test(document.querySelector('[data-testid="inference-error"]')?.textContent ?? ''),
    undefined,
    { timeout: 60_000 },
  );
});

test('a model too large for the device is refused with a clear message', async ({ page }) => {
  await open(page, '?backend=wasm&maxModelMiB=0.001');
  await page.waitForSelector('[data-testid="inference-error"]', { timeout: 60_000 });
  const msg = await page.locator('[data-testid="inference-error"]').innerText();
  assert(/needs .* MiB, more than this device allows/.test(msg), `message: ${msg}`);
});

test('WebGPU (after the probe check) agrees with WASM; a lost device or a failed probe falls back to WASM', async ({
  page,
  screenshot,
}) => {
  await open(page, '?backend=auto');
  const p = await probability(page, 'tiny-q', 180_000);
  const b = await badge(page, 'tiny-q');
  assert(
    b === 'WEBGPU',
    `expected the WebGPU badge after the probe, got ${b} (${await page.locator('[data-testid="fallback-reason"]').allInnerTexts()})`,
  );
  assert(Math.abs(p - NODE['tiny-q']) < 1e-3, `WebGPU ${p} vs WASM/node ${NODE['tiny-q']}`);
  const probes = await page.evaluate(() => localStorage.getItem('qumri.webgpuProbes'));
  assert(probes && /"ok":true/.test(probes), `probe result remembered: ${probes}`);
  await screenshot('inference-webgpu');
  assert(
    await page.evaluate(() =>
      (
        window as unknown as { qumriInference: { loseWebGpuDevice(): Promise<boolean> } }
      ).qumriInference.loseWebGpuDevice(),
    ),
    'device destroyed',
  );
  await page.click('[data-testid="classify-again"]');
  await page.waitForFunction(
    () => /WASM/.test(document.querySelector('[data-testid="backend-badge"]')?.textContent ?? ''),
    undefined,
    { timeout: 120_000 },
  );
  const p2 = await probability(page, 'tiny-q');
  assert(Math.abs(p2 - NODE['tiny-q']) < 1e-3, `after device loss ${p2} vs ${NODE['tiny-q']}`);
  assert(
    /WebGPU failed/.test(await page.locator('[data-testid="fallback-reason"]').innerText()),
    'the fallback is explained',
  );
  // A device whose probe disagreed with WASM: the page stays on WASM and says why.
  await page.evaluate(() => {
    const probes = JSON.parse(localStorage.getItem('qumri.webgpuProbes') ?? '{}') as Record<string, unknown>;
    for (const k of Object.keys(probes))
      probes[k] = { ok: false, maxAbsDiff: 0.04, detail: 'WebGPU disagrees with WASM (max |Δ| 4.00e-2 > 0.0001)' };
    localStorage.setItem('qumri.webgpuProbes', JSON.stringify(probes));
  });
  await page.reload();
  await waitForScan(page, 0);
  await probability(page, 'tiny-q');
  assert((await badge(page, 'tiny-q')) === 'WASM', 'a failed probe keeps the page on WASM');
  assert(
    /WebGPU disagrees with WASM/.test(await page.locator('[data-testid="fallback-reason"]').innerText()),
    'the probe failure is shown',
  );
});

test("Grad-CAM at an inner backbone stage (the exporter's 3D ResNet): the same map as node, on WASM and on WebGPU", async ({
  page,
}) => {
  const want = await nodeDemo(join(root, 'fixtures/bundles/tiny-qresnet'));
  for (const backend of ['wasm', 'auto']) {
    await open(page, `?backend=${backend}`);
    await page.selectOption('[data-testid="model-select"]', 'tiny-qresnet');
    const p = await probability(page, 'tiny-qresnet', 180_000);
    const b = await badge(page, 'tiny-qresnet');
    assert(
      b === (backend === 'wasm' ? 'WASM' : 'WEBGPU'),
      `${backend}: backend badge ${b} (${await page.locator('[data-testid="fallback-reason"]').allInnerTexts()})`,
    );
    assert(Math.abs(p - want.probability) < 1e-3, `${backend}: page ${p} vs node ${want.probability}`);
    await page.waitForSelector('[data-testid="gradcam-ready"]', { state: 'attached' });
    const mean = Number(await page.getAttribute('[data-testid="gradcam-ready"]', 'data-mean'));
    assert(
      want.camMean > 0 && Math.abs(mean - want.camMean) < 1e-3,
      `${backend}: Grad-CAM mean ${mean} vs node ${want.camMean}`,
    );
    const cells = await page.locator('[data-testid="gradcam-cells"]').innerText();
    assert(cells.includes(`stage 2`) && cells.includes(`${want.cells.join('×')} cells`), `${backend}: ${cells}`);
  }
});

test('WebGPU device lost in the middle of a run: the run finishes on WASM', async ({ page }) => {
  await open(page, '?backend=auto');
  await probability(page, 'tiny-q', 180_000);
  assert((await badge(page, 'tiny-q')) === 'WEBGPU', 'the first classification runs on WebGPU');
  type Hooks = {
    armWebGpuDeviceLoss(): Promise<boolean>;
    webGpuDeviceLossReport(): Promise<{ fired: boolean; duringRun: boolean } | null>;
  };
  // The next GPU submission (the backbone run started by "Classify again") destroys the device.
  assert(
    await page.evaluate(() => (window as unknown as { qumriInference: Hooks }).qumriInference.armWebGpuDeviceLoss()),
    'device loss armed',
  );
  const before = await page.locator('[data-testid="result-card"]').count();
  await page.click('[data-testid="classify-again"]');
  // The old card goes when the new run starts; wait for a card again, with the WASM badge.
  await page
    .waitForFunction((n) => document.querySelectorAll('[data-testid="result-card"]').length <= n, before, {
      timeout: 10_000,
    })
    .catch(() => undefined);
  await page.waitForFunction(
    () =>
      /WASM/.test(
        document.querySelector('[data-testid="result-card"][data-model="tiny-q"] [data-testid="backend-badge"]')
          ?.textContent ?? '',
      ),
    undefined,
    { timeout: 180_000 },
  );
  const report = await page.evaluate(() =>
    (window as unknown as { qumriInference: Hooks }).qumriInference.webGpuDeviceLossReport(),
  );
  assert(
    report?.fired && report.duringRun,
    `the device was lost while the backbone run was in flight: ${JSON.stringify(report)}`,
  );
  const p = await probability(page, 'tiny-q');
  assert(Math.abs(p - NODE['tiny-q']) < 1e-3, `after the mid-run loss ${p} vs ${NODE['tiny-q']}`);
  const reason = await page
    .locator('[data-testid="result-card"][data-model="tiny-q"] [data-testid="fallback-reason"]')
    .innerText();
  assert(/WebGPU failed during the run/.test(reason), `the fallback is explained: ${reason}`);
  assert(!(await page.locator('[data-testid="inference-error"]').count()), 'no inference error');
});

test('offline after the first visit: reload with the network cut still classifies', async ({ page, requests }) => {
  await open(page, '?backend=wasm');
  await probability(page, 'tiny-q');
  await page.waitForFunction(() => document.documentElement.hasAttribute('data-offline-ready'), undefined, {
    timeout: 60_000,
  });
  await page.context().setOffline(true);
  await page.reload();
  await waitForScan(page, 0);
  const p = await probability(page, 'tiny-q');
  assert(Math.abs(p - NODE['tiny-q']) < 1e-3, `offline ${p} vs ${NODE['tiny-q']}`);
  assertSameOrigin(requests);
});

test('paper B: the axial slice and a PNG picture are classified by the 2D model', async ({ page }) => {
  await open(page, '?backend=wasm');
  await page.waitForSelector('[data-testid="slice-axial"]:not([disabled])');
  await page.click('[data-testid="slice-axial"]');
  await page.waitForSelector('[data-testid="slice-probability"]', { timeout: 60_000 });
  const p = Number(await page.getAttribute('[data-testid="slice-probability"]', 'data-value'));
  const index = Number(/axial slice (\d+)/.exec(await page.locator('[data-testid="slice-result"]').innerText())?.[1]);
  // The same slice in node: same pure input function (the training export's rule), onnxruntime-node, same kernel.
  const bundle = await loadBundle(dirSource(join(root, 'fixtures/bundles/tiny-2d')));
  const clf = await createClassifier(
    bundle,
    await createNodeBackbone(bundle.backbone, bundle.manifest, { threads: 1 }),
    kernelEngineFactory(),
  );
  const { volume } = parseNifti(
    new Uint8Array(readFileSync(join(root, 'public/demo/tsc-flair.nii.gz'))),
    'tsc-flair.nii.gz',
  );
  const expected = (await clf.classify(sliceInput(volume.data, volume.dims, volume.affine, 'axial', index)))
    .probability;
  await clf.release();
  assert(Math.abs(p - expected) < 1e-3, `page ${p} vs node ${expected} for axial slice ${index}`);
  // The panel shows the slice as the viewer does (its convention); the model input never depends on it.
  assert(
    (await page.innerText('[data-testid="slice-orientation"]')).includes('R left, L right'),
    'radiological slice display',
  );
  await page.click('[data-testid="convention-neurological"]');
  await page.waitForFunction(
    () => document.querySelector('[data-testid="slice-orientation"]')?.textContent?.includes('L left, R right'),
    undefined,
    { timeout: 10_000 },
  );
  // A picture: a PNG drawn in the page, picked through the panel's file input.
  const png = await page.evaluate(async () => {
    const c = new OffscreenCanvas(180, 200);
    const g = c.getContext('2d')!;
    g.fillStyle = '#000';
    g.fillRect(0, 0, 180, 200);
    g.fillStyle = '#aaa';
    g.beginPath();
    g.ellipse(90, 100, 70, 85, 0, 0, 2 * Math.PI);
    g.fill();
    const bytes = new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer());
    return Array.from(bytes);
  });
  await page.setInputFiles('[data-testid="slice-file"]', {
    name: 'slice.png',
    mimeType: 'image/png',
    buffer: Buffer.from(png),
  });
  await page.waitForFunction(
    () => /slice\.png/.test(document.querySelector('[data-testid="slice-result"]')?.textContent ?? ''),
    undefined,
    { timeout: 60_000 },
  );
});

// The app's own default model (public/models/index.json lists it first), when one is shipped.
const shippedIndex = join(root, 'public/models/index.json');
const shipped = existsSync(shippedIndex)
  ? (JSON.parse(readFileSync(shippedIndex, 'utf8')) as { models: string[] }).models[0]
  : undefined;
if (shipped) {
  test(`the shipped default model (${shipped}) classifies the demo scan on WASM like node`, async ({ page }) => {
    const expected = (await nodeDemo(join(root, 'public/models', shipped))).probability;
    await open(page, '?backend=wasm');
    await page.selectOption('[data-testid="model-select"]', shipped);
    const p = await probability(page, shipped, 120_000);
    assert((await badge(page, shipped)) === 'WASM', 'WASM badge');
    assert(Math.abs(p - expected) < 1e-3, `page ${p} vs node ${expected}`);
  });
}

try {
  await run();
} finally {
  server.stop();
}
