/**
 * e2e: the README's app command (`npm start`, the Vite dev server) classifies the demo scan. The
 * production build serves public/ort as plain files; the dev server needs tools/vite-serve-ort.ts,
 * so this starts `vite` itself (the same config and flags as `npm start`, on a free port).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.ts';
import { assert, run, test, waitForScan } from './harness.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Starts `vite` (npm start's command, its port replaced) and returns its URL and a stop function. */
async function startDevServer(): Promise<{ url: string; stop: () => void }> {
  // npm start's prestart builds these; the e2e runner (and tools/test-all.sh) already did.
  for (const f of ['kernel/build/kernel.wasm', 'public/ort/ort-wasm-simd-threaded.asyncify.mjs']) {
    if (!existsSync(join(root, f)))
      throw new Error(`${f} is missing: run npm run build:kernel && npm run prepare:assets`);
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const child = spawn(
    join(root, 'node_modules', '.bin', 'vite'),
    ['--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    { cwd: root, stdio: 'ignore', detached: true },
  );
  const stop = () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  for (let tries = 0; ; tries++) {
    try {
      if ((await fetch(url)).ok) return { url, stop };
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || tries > 150) {
      stop();
      throw new Error(`vite dev server did not answer at ${url} (exit code ${child.exitCode})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("npm start (vite dev server) loads the demo scan and classifies it on WASM, under the page's CSP", async ({
  page,
  pageErrors,
}) => {
  const server = await startDevServer();
  try {
    const ortResponses: string[] = [];
    page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/ort/')) ortResponses.push(`${r.status()} ${r.url()}`);
    });
    // index.html's CSP holds on the dev server too (vite.config.ts allows only Vite's injected <style> elements).
    await page.addInitScript(() => {
      const w = window as unknown as { cspViolations: string[] };
      w.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        w.cspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`),
      );
    });
    await page.goto(new URL('?backend=wasm', server.url).toString());
    // A module the dev server refuses to serve shows Vite's error overlay (over the whole page).
    const overlay = page.waitForSelector('vite-error-overlay', { state: 'attached', timeout: 0 }).then(async () => {
      const message = await page.evaluate(
        () => document.querySelector('vite-error-overlay')?.shadowRoot?.querySelector('.message')?.textContent ?? '',
      );
      throw new Error(`Vite error overlay: ${message.slice(0, 300)}`);
    });
    overlay.catch(() => undefined);
    const sel = '[data-testid="result-card"] [data-testid="result-probability"]';
    await Promise.race([
      overlay,
      page.waitForSelector('[data-testid="inference-error"]', { timeout: 0 }).then(async (e) => {
        throw new Error(`inference error: ${await e.innerText()}`);
      }),
      (async () => {
        await waitForScan(page, 0, 60_000);
        await page.click('[data-testid="classify-again"]', { timeout: 60_000 });
        await page.waitForSelector(sel, { timeout: 90_000 });
      })(),
    ]);
    const p = Number(await page.getAttribute(sel, 'data-value'));
    assert(p >= 0 && p <= 1, `probability ${p}`);
    assert(
      ortResponses.length > 0 && ortResponses.every((r) => r.startsWith('200 ')),
      `ORT runtime files from the dev server: ${ortResponses.join(', ') || '(none requested)'}`,
    );
    assert(pageErrors.length === 0, `page errors: ${pageErrors.join(' | ')}`);
    const violations = await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
    assert(violations.length === 0, `CSP violations: ${violations.join(' | ')}`);
  } finally {
    server.stop();
  }
});

await run();
