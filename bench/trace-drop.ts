/**
 * Where a drop's time goes: drops the bench scan (320×320×48 uint16 FLAIR, as `npm run bench:e2e`)
 * on the built page in headless Chromium and prints, per drop, the page's performance marks
 * (`qumri:load-start` … `qumri:result`, `qumri:overlay-shown`, and when the result card was painted)
 * and the CPU time of every Chromium thread from /proc (this is how the software GPU's threads,
 * GPU/Thread<00> and <01>, showed up as the main cost of displaying a scan). The last drop is also
 * traced over CDP (page, workers and GPU process), summarised per thread by busy time and, from the
 * V8 CPU profile, by function self time.
 *
 *   npx tsx bench/trace-drop.ts [--dist DIR] [--threads 1|2] [--reps N] [--no-trace] [--out trace.json]
 * DIR defaults to bench/results/dist (built by `npm run bench:e2e`). Tracing slows the page down:
 * take times from untraced drops (--no-trace). For timings, run it under the quiet-machine wrapper.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Manifest } from '../src/core/bundle/index.ts';
import { writeNifti } from '../src/core/load/nifti-write.ts';
import { makePhantom } from '../tools/phantom.ts';
import { copyBundle, startServer } from '../e2e/inference-server.ts';
import { CHROMIUM_ARGS, waitForScan } from '../e2e/harness.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (k: string, d: string) => (process.argv.includes(k) ? process.argv[process.argv.indexOf(k) + 1] : d);
const dist = arg('--dist', join(root, 'bench/results/dist'));
const out = arg('--out', '');
const threads = Number(arg('--threads', '2'));
const trace = !process.argv.includes('--no-trace');
const reps = Number(arg('--reps', '1'));

const index = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8')) as { models: string[] };
const bundleDir = index.models
  .map((id) => join(root, 'public/models', id))
  .find((d) => {
    const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as Manifest;
    return m.dims === 3 && m.sequence === 'FLAIR';
  })!;
const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as Manifest;

const t = (8 * Math.PI) / 180;
const affine = [
  0.72,
  0,
  0,
  -115,
  0,
  0.72 * Math.cos(t),
  -3 * Math.sin(t),
  -100,
  0,
  0.72 * Math.sin(t),
  3 * Math.cos(t),
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
const CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'blink.user_timing',
  'v8.execute',
  'disabled-by-default-v8.cpu_profiler',
  'toplevel',
  'v8',
  'gpu',
];

/** CPU time (ms) of every thread of Chromium's processes, by "process-kind/thread-name", from /proc. */
async function threadCpu(browserCdp: { send(m: string): Promise<unknown> }): Promise<Map<string, number>> {
  const { processInfo } = (await browserCdp.send('SystemInfo.getProcessInfo')) as {
    processInfo: { type: string; id: number }[];
  };
  const out = new Map<string, number>();
  const tick = 10; // ms per clock tick (CLK_TCK 100)
  for (const p of processInfo) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p.id}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        const stat = readFileSync(`/proc/${p.id}/task/${t}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ms = (Number(f[11]) + Number(f[12])) * tick;
        const key = `${p.type}/${name}`;
        out.set(key, (out.get(key) ?? 0) + ms);
      } catch {
        /* thread ended */
      }
    }
  }
  return out;
}

const server = await startServer(dist, (models) => {
  copyBundle(bundleDir, join(models, manifest.id));
  writeFileSync(join(models, 'index.json'), JSON.stringify({ models: [manifest.id] }));
});
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await page.addInitScript(() => {
    const list: PerformanceEntry[] = [];
    Object.assign(globalThis, { qumriElements: list });
    new PerformanceObserver((l) => list.push(...l.getEntries())).observe({ type: 'element', buffered: true });
  });
  await page.goto(`${server.url}?backend=wasm&threads=${threads}`);
  await waitForScan(page, 0, 120_000);
  await page.waitForSelector('[data-testid="result-card"]', { timeout: 120_000 });
  const cdp = await page.context().newCDPSession(page);
  const browserCdp = await browser.newBrowserCDPSession();
  const events: Record<string, unknown>[] = [];
  cdp.on('Tracing.dataCollected', (e: { value: Record<string, unknown>[] }) => events.push(...e.value));
  for (let rep = 0; rep < reps; rep++) {
    const traced = trace && rep === reps - 1;
    // The DataTransfer is built before the clock starts: only the page's own work is measured.
    const dt = await page.evaluateHandle(
      (b64) => {
        const bin = atob(b64);
        const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], 'trace_FLAIR.nii.gz'));
        return transfer;
      },
      Buffer.from(scans[rep % 2]).toString('base64'),
    );
    await page.waitForTimeout(500);
    const finished = new Promise<void>((r) => cdp.once('Tracing.tracingComplete', () => r()));
    if (traced) {
      await cdp.send('Tracing.start', {
        transferMode: 'ReportEvents',
        traceConfig: { includedCategories: CATEGORIES },
      });
    }
    const cpu0 = await threadCpu(browserCdp);
    const before = Number(await page.getAttribute('[data-testid="viewer-canvas"]', 'data-scan-version'));
    const t0 = Date.now();
    await page.evaluate((d) => {
      performance.mark('qumri:drop');
      const app = document.querySelector('[data-testid="app"]')!;
      for (const type of ['dragenter', 'dragover', 'drop'])
        app.dispatchEvent(new DragEvent(type, { dataTransfer: d, bubbles: true, cancelable: true }));
    }, dt);
    const version = await waitForScan(page, before, 120_000);
    const shown = Date.now() - t0;
    await page.waitForSelector(`[data-testid="result-card"][data-scan-version="${version}"]`, { timeout: 120_000 });
    const total = Date.now() - t0;
    const cpu1 = await threadCpu(browserCdp);
    await page.waitForTimeout(300);
    if (traced) {
      await cdp.send('Tracing.end');
      await finished;
    }
    console.log(`\nrep ${rep + 1}${traced ? ' (traced)' : ''}: shown ${shown} ms, result ${total} ms`);
    const marks = await page.evaluate(() => {
      const drop = performance.getEntriesByName('qumri:drop').at(-1)!.startTime;
      const el =
        (globalThis as unknown as { qumriElements?: { identifier: string; renderTime: number }[] }).qumriElements ?? [];
      return [
        ...performance
          .getEntries()
          .filter((e) => e.name.startsWith('qumri:') && e.startTime >= drop)
          .map((e) => `${e.name} @${(e.startTime - drop).toFixed(0)}`),
        ...el
          .filter((e) => e.renderTime >= drop)
          .map((e) => `painted ${e.identifier} @${(e.renderTime - drop).toFixed(0)}`),
      ];
    });
    console.log(marks.join(' · '));
    const used = [...cpu1]
      .map(([k, v]) => [k, v - (cpu0.get(k) ?? 0)] as const)
      .filter(([, v]) => v >= 30)
      .sort((a, b) => b[1] - a[1]);
    console.log('CPU ms by thread: ' + used.map(([k, v]) => `${k} ${v}`).join(', '));
  }
  if (!trace) process.exit(0);
  if (out) writeFileSync(out, JSON.stringify(events));

  // Thread names, then per thread: top-level task time and self time by function (CPU profile samples).
  const names = new Map<string, string>();
  for (const e of events)
    if (e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, (e.args as { name: string }).name);
  const busy = new Map<string, number>();
  for (const e of events) {
    if (e.ph === 'X' && e.name === 'RunTask' && typeof e.dur === 'number') {
      const k = `${e.pid}:${e.tid}`;
      busy.set(k, (busy.get(k) ?? 0) + e.dur / 1000);
    }
  }
  console.log('\nbusy ms per thread (top-level tasks):');
  for (const [k, v] of [...busy].sort((a, b) => b[1] - a[1]).slice(0, 8))
    console.log(`  ${(names.get(k) ?? k).padEnd(30)} ${v.toFixed(0)}`);
  // CPU profiles: ProfileChunk events carry nodes and samples per profile id.
  type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; parent?: number };
  const profiles = new Map<string, { thread: string; nodes: Map<number, Node>; samples: number[]; deltas: number[] }>();
  for (const e of events) {
    if (e.name === 'Profile')
      profiles.set(`${e.pid}:${e.id}`, { thread: `${e.pid}:${e.tid}`, nodes: new Map(), samples: [], deltas: [] });
    if (e.name !== 'ProfileChunk') continue;
    const p = profiles.get(`${e.pid}:${e.id}`);
    if (!p) continue;
    const d = (e.args as { data: { cpuProfile?: { nodes?: Node[]; samples?: number[] }; timeDeltas?: number[] } }).data;
    for (const n of d.cpuProfile?.nodes ?? []) p.nodes.set(n.id, n);
    p.samples.push(...(d.cpuProfile?.samples ?? []));
    p.deltas.push(...(d.timeDeltas ?? []));
  }
  for (const p of profiles.values()) {
    const self = new Map<string, number>();
    let total = 0;
    for (let i = 0; i < p.samples.length; i++) {
      const n = p.nodes.get(p.samples[i]);
      const dt = (p.deltas[i + 1] ?? 0) / 1000;
      if (!n) continue;
      const f = n.callFrame;
      if (f.functionName === '(idle)' || f.functionName === '(program)') continue;
      const key = `${f.functionName || '(anon)'} ${(f.url ?? '').split('/').pop()}:${f.lineNumber}`;
      self.set(key, (self.get(key) ?? 0) + dt);
      total += dt;
    }
    if (total < 20) continue;
    console.log(`\n${names.get(p.thread) ?? p.thread}: ${total.toFixed(0)} ms sampled`);
    for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15))
      console.log(`  ${v.toFixed(0).padStart(6)}  ${k}`);
  }
} finally {
  await browser.close();
  server.stop();
}
