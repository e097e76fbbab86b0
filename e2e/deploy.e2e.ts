/**
 * e2e for deployment (docs/deploy.md), on the built folder served two ways:
 * - `python3 -m http.server`: no COOP/COEP and no CSP header, the offline workstation's plainest
 *   recipe. The page must classify on one WASM thread with the isolated page's answer, and its
 *   <meta> CSP must refuse requests to another origin.
 * - `serve.mjs`, the code block of docs/deploy.md (COOP/COEP and the CSP as a header, like the
 *   nginx/Apache/IIS examples): every part of the page must work with no CSP violation, and a
 *   worker's request to another origin must be refused.
 * A recording server on another port stands for "another origin": it must receive nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { freePort } from './free-port.ts';
import { assert, CHROMIUM_ARGS, dropFiles, run, test, waitForScan } from './harness.ts';
import { volumeToDicom } from './dicom-series.ts';
import { makePhantom } from '../tools/phantom.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = process.env.QUMRI_E2E_DIST ?? join(root, 'e2e', 'artifacts', 'dist');

// The site: the build (linked, not copied) plus a worker that sends a request where it is told, and
// the 2D test fixture tiny-qcnn-f16 beside the shipped models: no shipped 2D bundle passes the shipping
// rule (issue 20), and the slice panel's model must still run under the CSP.
const SLICE_FIXTURE = 'tiny-qcnn-f16';
const tmp = mkdtempSync(join(tmpdir(), 'qumri-e2e-deploy-'));
const site = join(tmp, 'site');
mkdirSync(join(site, 'models'), { recursive: true });
for (const entry of readdirSync(dist).filter((e) => e !== 'models')) symlinkSync(join(dist, entry), join(site, entry));
for (const entry of readdirSync(join(dist, 'models')).filter((e) => e !== 'index.json'))
  symlinkSync(join(dist, 'models', entry), join(site, 'models', entry));
symlinkSync(join(root, 'fixtures/bundles', SLICE_FIXTURE), join(site, 'models', SLICE_FIXTURE));
const shippedIndex = JSON.parse(readFileSync(join(dist, 'models', 'index.json'), 'utf8')) as { models: string[] };
writeFileSync(join(site, 'models', 'index.json'), JSON.stringify({ models: [...shippedIndex.models, SLICE_FIXTURE] }));
writeFileSync(
  join(site, 'send-worker.js'),
  "onmessage = (e) => fetch(e.data, { method: 'POST', body: 'scan' }).then(() => postMessage('sent'), () => postMessage('refused'));",
);

/** Another origin: a server that records every request it gets. */
const received: string[] = [];
const recorder = createServer((req, res) => {
  received.push(`${req.method} ${req.url}`);
  res.end('ok');
});
const recorderPort = await freePort();
await new Promise<void>((resolve) => recorder.listen(recorderPort, '127.0.0.1', resolve));
const elsewhere = `http://127.0.0.1:${recorderPort}`;

const children: ChildProcess[] = [];
async function serve(cmd: string, args: string[], port: number): Promise<string> {
  const child = spawn(cmd, args, { cwd: tmp, stdio: 'ignore', detached: true });
  children.push(child);
  const url = `http://127.0.0.1:${port}/`;
  for (let tries = 0; ; tries++) {
    try {
      if ((await fetch(url)).ok) return url;
    } catch {
      if (child.exitCode !== null || tries > 150) throw new Error(`${cmd} ${args.join(' ')} did not serve ${url}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const serveMjs = /```js\n(\/\/ serve\.mjs[\s\S]*?)```/.exec(readFileSync(join(root, 'docs/deploy.md'), 'utf8'))?.[1];
if (!serveMjs) throw new Error('docs/deploy.md has no ```js block starting "// serve.mjs"');
writeFileSync(join(tmp, 'serve.mjs'), serveMjs);
const pythonPort = await freePort();
const python = await serve(
  'python3',
  ['-m', 'http.server', String(pythonPort), '--bind', '127.0.0.1', '--directory', site],
  pythonPort,
);
const nodePort = await freePort();
const node = await serve(process.execPath, [join(tmp, 'serve.mjs'), site, String(nodePort)], nodePort);

interface Visit {
  page: Page;
  /** URLs of the workers the page started (nested ones included). */
  workers: string[];
  errors: string[];
  close: () => Promise<void>;
}

/** Opens `url` in a fresh context that records CSP violations (window.cspViolations) from the start. */
async function visit(from: Page, url: string, args: string[] = []): Promise<Visit> {
  await from.goto('about:blank'); // the harness's page would otherwise classify alongside
  const context = await from
    .context()
    .browser()!
    .newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(() => {
    const w = window as unknown as { cspViolations: string[] };
    w.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      w.cspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`),
    );
  });
  const page = await context.newPage();
  const workers: string[] = [];
  const errors: string[] = [];
  page.on('worker', (w) => workers.push(w.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(new URL(`?backend=wasm${args.join('')}`, url).toString());
  return { page, workers, errors, close: () => context.close() };
}

const violations = (page: Page) =>
  page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);

async function demoProbability(page: Page): Promise<number> {
  await waitForScan(page, 0, 60_000);
  const sel = '[data-testid="result-card"] [data-testid="result-probability"]';
  await Promise.race([
    page.waitForSelector(sel, { timeout: 180_000 }),
    page
      .waitForSelector('[data-testid="inference-error"], [data-testid="registry-error"]', { timeout: 180_000 })
      .then(async (e) => {
        throw new Error(`no result: ${await e.innerText()}`);
      }),
  ]);
  return Number(await page.getAttribute(sel, 'data-value'));
}

/** The recording server works: a request made from here (no browser, no CSP) arrives. */
async function recorderCheck(): Promise<void> {
  received.length = 0;
  await fetch(`${elsewhere}/control`);
  assert(received.join() === 'GET /control', `the recording server saw ${received.join(', ') || 'nothing'}`);
  received.length = 0;
}

test('python3 -m http.server (no COOP/COEP): the demo scan is classified on one WASM thread, as on serve.mjs (isolated, 2 threads)', async ({
  page,
}) => {
  const plain = await visit(page, python);
  const pPlain = await demoProbability(plain.page);
  assert(
    !(await plain.page.evaluate(() => crossOriginIsolated)),
    'the page on a plain server is not cross-origin isolated',
  );
  const plainThreads = plain.workers.filter((u) => new URL(u).pathname.startsWith('/ort/'));
  assert(
    plainThreads.length === 0,
    `ONNX Runtime started thread workers without isolation: ${plainThreads.join(', ')}`,
  );
  assert((await violations(plain.page)).length === 0, `CSP violations: ${(await violations(plain.page)).join(' | ')}`);
  assert(plain.errors.length === 0, `page errors: ${plain.errors.join(' | ')}`);
  await plain.close();

  const isolated = await visit(page, node);
  const pIsolated = await demoProbability(isolated.page);
  assert(await isolated.page.evaluate(() => crossOriginIsolated), 'the page on serve.mjs is cross-origin isolated');
  assert(
    isolated.workers.some((u) => new URL(u).pathname.startsWith('/ort/')),
    `no ONNX Runtime thread worker with isolation: ${isolated.workers.join(', ')}`,
  );
  await isolated.close();
  assert(Math.abs(pPlain - pIsolated) < 1e-4, `one thread P=${pPlain}, two threads P=${pIsolated}`);
});

test('serve.mjs from docs/deploy.md (the CSP also as a header): viewer, ONNX Runtime threads, kernel, 2D model, dcm2niix, downloads and offline cache work with no CSP violation; a worker cannot send elsewhere', async ({
  page,
}) => {
  const res = await fetch(node);
  const meta = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(await res.text())?.[1];
  assert(
    meta && res.headers.get('content-security-policy') === meta,
    `serve.mjs sends the page's policy as a header: ${res.headers.get('content-security-policy')}`,
  );
  const v = await visit(page, node);
  try {
    const p = v.page;
    await demoProbability(p);
    assert(
      v.workers.some((u) => new URL(u).pathname.startsWith('/ort/')),
      'ONNX Runtime runs with WASM threads',
    );
    await p.waitForSelector('[data-testid="circuit-svg"]', { timeout: 60_000 }); // the statevector kernel's details
    await p.waitForSelector('[data-testid="gradcam-ready"]', { state: 'attached' });
    await p.click('[data-testid="slice-axial"]');
    await p.waitForSelector('[data-testid="slice-probability"]', { timeout: 120_000 });
    for (const id of ['report-download', 'qasm-download']) {
      const [download] = await Promise.all([p.waitForEvent('download'), p.click(`[data-testid="${id}"]`)]);
      assert((await download.failure()) === null, `${id} failed: ${await download.failure()}`);
    }
    const before = Number(await p.getAttribute('[data-testid="viewer-canvas"]', 'data-scan-version'));
    const dims: [number, number, number] = [64, 72, 24];
    await dropFiles(
      p,
      volumeToDicom(makePhantom({ dims, spacing: [3, 3, 6], contrast: 'FLAIR', noise: 2, seed: 5 }), {
        seriesNumber: 4,
        seriesDescription: 'AX FLAIR',
      }),
    );
    await waitForScan(p, before, 60_000);
    assert(
      (await p.innerText('[data-testid="header-dims"]')) === dims.join(' × '),
      'the DICOM series converted by dcm2niix is shown',
    );
    await p.waitForFunction(() => document.documentElement.hasAttribute('data-offline-ready'), undefined, {
      timeout: 180_000,
    });
    assert((await violations(p)).length === 0, `CSP violations: ${(await violations(p)).join(' | ')}`);
    assert(v.errors.length === 0, `page errors: ${v.errors.join(' | ')}`);
    // A worker of the site bound by the header: its request to another origin never leaves.
    await recorderCheck();
    const answer = await p.evaluate(
      (to) =>
        new Promise<string>((resolve) => {
          const w = new Worker('/send-worker.js');
          w.onmessage = (e) => resolve(String(e.data));
          w.postMessage(`${to}/from-worker`);
        }),
      elsewhere,
    );
    assert(
      answer === 'refused' && received.length === 0,
      `a worker's POST to another origin: ${answer}; that server saw ${received.join(', ') || 'nothing'}`,
    );
  } finally {
    await v.close();
  }
});

test('the <meta> CSP alone (python3 -m http.server) refuses fetch, sendBeacon and an image aimed at another origin, which receives nothing', async ({
  page,
}) => {
  const v = await visit(page, python);
  try {
    await waitForScan(v.page, 0, 60_000);
    await recorderCheck();
    const fetched = await v.page.evaluate((to) => {
      navigator.sendBeacon(`${to}/beacon`, 'scan');
      new Image().src = `${to}/image.png`;
      return fetch(`${to}/fetch`, { method: 'POST', body: 'scan' }).then(
        () => 'sent',
        (e: Error) => `refused (${e.name})`,
      );
    }, elsewhere);
    await v.page.waitForFunction(
      () => (window as unknown as { cspViolations: string[] }).cspViolations.length >= 3,
      undefined,
      { timeout: 10_000 },
    );
    const seen = await violations(v.page);
    assert(fetched === 'refused (TypeError)', `fetch: ${fetched}`);
    for (const [directive, path] of [
      ['connect-src', 'fetch'],
      ['connect-src', 'beacon'],
      ['img-src', 'image.png'],
    ]) {
      assert(
        seen.includes(`${directive} ${elsewhere}/${path}`),
        `no ${directive} violation for /${path}: ${seen.join(' | ')}`,
      );
    }
    assert(received.length === 0, `the other origin received ${received.join(', ')}`);
  } finally {
    await v.close();
  }
});

test('plain HTTP from another host name: the Model panel says why no model can run', async ({ page }) => {
  // A host name other than localhost, resolved to this machine: not a secure context.
  const browser = await page
    .context()
    .browser()!
    .browserType()
    .launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP qumri.test 127.0.0.1'],
    });
  try {
    const remote = await browser.newPage();
    await remote.goto(`http://qumri.test:${pythonPort}/?backend=wasm`);
    await waitForScan(remote, 0, 60_000);
    assert(!(await remote.evaluate(() => isSecureContext)), 'http://qumri.test is not a secure context');
    await remote.waitForSelector('[data-testid="registry-error"]', { timeout: 30_000 });
    const text = await remote.innerText('[data-testid="registry-error"]');
    assert(/HTTPS or from this computer/.test(text) && text.includes(`qumri.test:${pythonPort}`), `message: ${text}`);
  } finally {
    await browser.close();
  }
});

try {
  await run();
} finally {
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  recorder.close();
  rmSync(tmp, { recursive: true, force: true });
}
