/**
 * e2e harness: register tests with `test(name, fn)`, then `await run()` at the end of the file.
 * Each test gets a fresh page on the preview server (QUMRI_E2E_URL, set by e2e/run.mjs); a
 * `pageerror` fails it. Results go to stdout as `E2E-RESULT {json}` lines that run.mjs counts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type JSHandle, type Page } from 'playwright-core';

export interface TestContext {
  page: Page;
  baseUrl: string;
  /** Every URL the page requested, in order (e.g. to prove nothing left the machine). */
  requests: string[];
  /** Uncaught page errors so far; any entry fails the test at its end. */
  pageErrors: string[];
  /** Console messages of type error. */
  consoleErrors: string[];
  /** Saves a screenshot under e2e/artifacts/ and returns its path. */
  screenshot: (name: string) => Promise<string>;
}

export interface FileSpec {
  name: string;
  bytes: Uint8Array;
}

type TestFn = (ctx: TestContext) => Promise<void>;

const tests: { name: string; fn: TestFn }[] = [];
export const baseUrl = process.env.QUMRI_E2E_URL ?? 'http://127.0.0.1:4173';
export const artifacts = process.env.QUMRI_E2E_ARTIFACTS ?? join(process.cwd(), 'e2e', 'artifacts');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
];

export function test(name: string, fn: TestFn): void {
  tests.push({ name, fn });
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/** Opens the app in a fresh context and records requests, page errors and console errors. */
export async function openPage(browser: Browser, path = '/'): Promise<TestContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const ctx: TestContext = {
    page,
    baseUrl,
    requests: [],
    pageErrors: [],
    consoleErrors: [],
    screenshot: async (name) => {
      mkdirSync(artifacts, { recursive: true });
      const file = join(artifacts, `${name.replace(/[^\w.-]+/g, '_')}.png`);
      await page.screenshot({ path: file });
      return file;
    },
  };
  page.on('request', (r) => ctx.requests.push(r.url()));
  page.on('pageerror', (e) => {
    // The first stack frames say where it happened; the message alone rarely does.
    const frames = (e.stack ?? '')
      .split('\n')
      .filter((l) => l.trim().startsWith('at '))
      .slice(0, 3)
      .map((l) => l.trim());
    ctx.pageErrors.push(`${e.name}: ${e.message}${frames.length ? ` [${frames.join(' ← ')}]` : ''}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') ctx.consoleErrors.push(m.text());
  });
  await page.goto(new URL(path, baseUrl).toString());
  return ctx;
}

/** Drops files on the page the way a user's drag-and-drop does (a DataTransfer with File objects). */
export async function dropFiles(page: Page, files: FileSpec[], selector = '[data-testid="app"]'): Promise<void> {
  await dispatchDrop(page, await prepareDrop(page, files), selector);
}

/**
 * The DataTransfer of a drop, built in the page (the bytes travel through the test driver as
 * base64 first): benchmarks build it before their clock starts, so they time the page alone.
 */
export function prepareDrop(page: Page, files: FileSpec[]): Promise<JSHandle<DataTransfer>> {
  const payload = files.map((f) => ({ name: f.name, b64: Buffer.from(f.bytes).toString('base64') }));
  return page.evaluateHandle((items) => {
    const transfer = new DataTransfer();
    for (const { name, b64 } of items) {
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      transfer.items.add(new File([bytes], name));
    }
    return transfer;
  }, payload);
}

/** Fires dragenter, dragover and drop with a prepared DataTransfer. */
export async function dispatchDrop(
  page: Page,
  dt: JSHandle<DataTransfer>,
  selector = '[data-testid="app"]',
): Promise<void> {
  await page.dispatchEvent(selector, 'dragenter', { dataTransfer: dt });
  await page.dispatchEvent(selector, 'dragover', { dataTransfer: dt });
  await page.dispatchEvent(selector, 'drop', { dataTransfer: dt });
}

/** Picks files through the page's hidden file input, as the "Open scan…" button does. */
export async function pickFiles(page: Page, files: FileSpec[]): Promise<void> {
  await page.setInputFiles(
    '[data-testid="file-input"]',
    files.map((f) => ({ name: f.name, mimeType: 'application/octet-stream', buffer: Buffer.from(f.bytes) })),
  );
}

/** Current scan version shown by the viewer (increments per displayed scan; 0 before the first). */
export async function scanVersion(page: Page): Promise<number> {
  return Number((await page.getAttribute('[data-testid="viewer-canvas"]', 'data-scan-version')) ?? 0);
}

/** Waits until the viewer has rendered a scan newer than `after`. */
export async function waitForScan(page: Page, after = 0, timeout = 30_000): Promise<number> {
  await page.waitForFunction(
    (v) => {
      const c = document.querySelector('[data-testid="viewer-canvas"]');
      return c?.getAttribute('data-rendered') === 'true' && Number(c.getAttribute('data-scan-version') ?? 0) > v;
    },
    after,
    { timeout },
  );
  return scanVersion(page);
}

export interface CanvasStats {
  width: number;
  height: number;
  /** Fraction of pixels that differ from the most common (background) colour. */
  nonBackground: number;
  /** Standard deviation of luminance, 0–255. */
  lumaStd: number;
  /** Distinct grey levels (luminance rounded to 8 bits). */
  levels: number;
}

/**
 * Pixel statistics of the viewer as displayed. A WebGL canvas cannot be read back after
 * compositing, so this screenshots the element and decodes the PNG in the page.
 */
export async function canvasStats(page: Page, selector = '[data-testid="viewer-canvas"]'): Promise<CanvasStats> {
  const png = await page.locator(selector).screenshot();
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const counts = new Map<number, number>();
    const hist = new Uint32Array(256);
    let sum = 0,
      sum2 = 0;
    const n = d.length / 4;
    for (let p = 0; p < d.length; p += 4) {
      const key = (d[p] << 16) | (d[p + 1] << 8) | d[p + 2];
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const l = 0.299 * d[p] + 0.587 * d[p + 1] + 0.114 * d[p + 2];
      hist[Math.round(l)]++;
      sum += l;
      sum2 += l * l;
    }
    // A loop, not Math.max(...values): colourful overlays have more colours than the call stack allows arguments.
    let bg = 0;
    for (const c of counts.values()) if (c > bg) bg = c;
    const mean = sum / n;
    return {
      width: c.width,
      height: c.height,
      nonBackground: 1 - bg / n,
      lumaStd: Math.sqrt(Math.max(0, sum2 / n - mean * mean)),
      levels: hist.filter((h) => h > 0).length,
    };
  }, png.toString('base64'));
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** Runs the registered tests (optionally only names containing QUMRI_E2E_GREP) in one browser. */
export async function run(): Promise<void> {
  const grep = process.env.QUMRI_E2E_GREP;
  const browser = await launch();
  try {
    for (const t of tests) {
      if (grep && !t.name.includes(grep)) continue;
      const started = Date.now();
      let ctx: TestContext | null = null;
      let error: string | null = null;
      try {
        ctx = await openPage(browser);
        await t.fn(ctx);
        if (ctx.pageErrors.length > 0) error = `uncaught page error(s): ${ctx.pageErrors.join(' | ')}`;
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
        if (ctx?.pageErrors.length) error += ` (page errors: ${ctx.pageErrors.join(' | ')})`;
      }
      if (error && ctx) await ctx.screenshot(`FAILED-${t.name}`).catch(() => undefined);
      await ctx?.page
        .context()
        .close()
        .catch(() => undefined);
      console.log(
        `E2E-RESULT ${JSON.stringify({ name: t.name, ok: error === null, error, ms: Date.now() - started })}`,
      );
    }
  } finally {
    await browser.close();
  }
}
