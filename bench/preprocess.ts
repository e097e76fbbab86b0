/**
 * `npm run bench:preprocess`: time per step for a 320×320×48 uint16 FLAIR-like volume → 128³,
 * in node and in the page's worker (Chromium through a Vite dev server), same code and input.
 * Goal ≤ 1.5 s end to end. Prints the worker/node ratio; JSON → bench/results/preprocess.json.
 */
import { mkdirSync, writeFileSync, existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { chromium } from 'playwright-core';
import { parseNifti } from '../src/core/load/nifti.ts';
import { parsePreprocessSpec, preprocess, STEPS } from '../src/core/preprocess/index.ts';
import type { Volume } from '../src/core/volume.ts';
import { benchVolume } from './preprocess-volume.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const RUNS = 3;
const REAL = '/work/shared/data/real/ms_patient01_FLAIR.nii.gz';

interface Run {
  wallMs: number;
  /** Process CPU time (node only): what the wall time would be on an idle core. */
  cpuMs?: number;
  steps: { name: string; ms: number }[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function summarise(runs: Run[]) {
  const steps = Object.fromEntries(
    STEPS.map((s) => [s, median(runs.map((r) => r.steps.find((x) => x.name === s)?.ms ?? NaN))]),
  );
  const cpu = runs.map((r) => r.cpuMs).filter((x): x is number => x !== undefined);
  return { wallMs: median(runs.map((r) => r.wallMs)), cpuMs: cpu.length ? median(cpu) : null, steps };
}

function nodeRuns(volume: Volume): Run[] {
  const spec = parsePreprocessSpec({});
  const runs: Run[] = [];
  for (let r = 0; r < RUNS; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const res = preprocess(volume, spec);
    const c = process.cpuUsage(c0);
    runs.push({ wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, steps: res.steps });
  }
  return runs;
}

async function workerRuns(): Promise<Run[]> {
  const server = await createServer({
    configFile: false,
    root,
    logLevel: 'silent',
    server: { host: '127.0.0.1', port: 0, strictPort: false },
    worker: { format: 'es' },
  });
  await server.listen();
  const address = server.httpServer?.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const profile = mkdtempSync(join(tmpdir(), 'qumri-bench-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/bench/preprocess.html`);
    await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 120_000 });
    // Warm-up run (module compilation in the worker), then the timed runs.
    return await page.evaluate(async (n) => {
      const w = window as unknown as { runBench: (n: number) => Promise<Run[]> };
      await w.runBench(1);
      return w.runBench(n);
    }, RUNS);
  } finally {
    await browser.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

function print(label: string, s: ReturnType<typeof summarise>): void {
  const steps = STEPS.map((k) => `${k} ${s.steps[k].toFixed(0)}`).join(' · ');
  const cpu = s.cpuMs === null ? '' : `, CPU ${s.cpuMs.toFixed(0)} ms`;
  console.log(`${label.padEnd(28)} ${s.wallMs.toFixed(0).padStart(6)} ms wall${cpu}   (${steps})`);
}

async function main(): Promise<void> {
  const volume = benchVolume();
  console.log(
    `bench:preprocess — ${volume.dims.join('×')} ${volume.datatype}, ${volume.spacing.join('×')} mm → 128³; median of ${RUNS}; load average ${loadavg()[0].toFixed(2)}`,
  );
  preprocess(volume, parsePreprocessSpec({})); // JIT warm-up
  const node = summarise(nodeRuns(volume));
  print('node', node);
  const worker = summarise(await workerRuns());
  print('page worker (chromium)', worker);
  let real: ReturnType<typeof summarise> | null = null;
  if (existsSync(REAL)) {
    real = summarise(nodeRuns(parseNifti(new Uint8Array(readFileSync(REAL)), 'ms_patient01_FLAIR.nii.gz').volume));
    print('node, real FLAIR 320×320×36', real);
  }
  const ratio = worker.wallMs / node.wallMs;
  console.log(
    `worker / node wall-time ratio ${ratio.toFixed(2)}; goal ≤ 1500 ms: node ${node.wallMs <= 1500 ? 'met' : 'missed'}, worker ${worker.wallMs <= 1500 ? 'met' : 'missed'}`,
  );
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const out = {
    date: new Date().toISOString(),
    loadavg: loadavg(),
    input: { dims: volume.dims, spacing: volume.spacing },
    grid: [128, 128, 128],
    node,
    worker,
    ratio,
    real,
  };
  writeFileSync(join(root, 'bench/results/preprocess.json'), JSON.stringify(out, null, 1));
}

await main();
