/**
 * e2e for the page flow and the side panels' layout (issue 19): a scan whose sequence cannot be
 * detected is classified as soon as the user chooses its sequence, or confirms a mismatch, with
 * no Classify click; the side panels show every value whole at 1280×800, 1440×900 and 1920×1080.
 * Runs on WASM, with the shipped models.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { chromium, type Page } from 'playwright-core';
import {
  artifacts,
  assert,
  baseUrl,
  CHROMIUM_ARGS,
  dropFiles,
  run,
  test,
  waitForScan,
  type FileSpec,
} from './harness.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const demo = (name: string) => readFileSync(join(root, 'public/demo', name));

/** The TSC FLAIR demo with its NIfTI description blanked and a neutral name: nothing tells its sequence. */
function unknownSequenceScan(): FileSpec {
  const nii = gunzipSync(demo('tsc-flair.nii.gz'));
  assert(nii.readInt32LE(0) === 348, 'the demo scan is a little-endian NIfTI-1 file');
  nii.fill(0, 148, 228); // descrip, char[80]
  return { name: 'scan-0001.nii.gz', bytes: gzipSync(nii) };
}

const card = (v: number) => `[data-testid="result-card"][data-scan-version="${v}"]`;

async function probabilityOf(page: Page, v: number): Promise<number> {
  await page.waitForSelector(`${card(v)} [data-testid="result-probability"]`, { timeout: 120_000 });
  return Number(await page.getAttribute(`${card(v)} [data-testid="result-probability"]`, 'data-value'));
}

/** Drops the scan of unknown sequence and checks that nothing was classified: the page asks first. */
async function dropUnknown(page: Page, after: number): Promise<number> {
  await dropFiles(page, [unknownSequenceScan()]);
  const v = await waitForScan(page, after, 60_000);
  await page.waitForSelector('[data-testid="sequence-required"]');
  await page.waitForSelector('[data-testid="sequence-mismatch"]');
  assert(
    (await page.locator('[data-testid="classify-again"]').count()) === 0,
    'no Classify button while the sequence is unknown',
  );
  assert((await page.locator(card(v)).count()) === 0, 'no result before the sequence is known');
  return v;
}

test('a scan of unknown sequence is classified once FLAIR is chosen, or a mismatch confirmed, with no button pressed', async ({
  page,
  screenshot,
}) => {
  await page.goto(new URL('?backend=wasm', baseUrl).toString());
  const v0 = await waitForScan(page, 0);
  const demoP = await probabilityOf(page, v0);
  // The same voxels as the demo scan, only its description differs: choosing FLAIR must give the demo's answer.
  const v1 = await dropUnknown(page, v0);
  await screenshot('page-flow-unknown-sequence');
  await page.selectOption('[data-testid="sequence-select"]', 'FLAIR');
  const p1 = await probabilityOf(page, v1);
  assert(Math.abs(p1 - demoP) < 1e-5, `after choosing FLAIR P=${p1}, the demo scan's P=${demoP}`);
  assert(
    (await page.innerText('[data-testid="classify-again"]')) === 'Classify again',
    'the button reads "Classify again" once a result exists',
  );
  await screenshot('page-flow-flair-chosen');
  // T2w for a FLAIR model: the page asks, and "Classify anyway" is the only click.
  const v2 = await dropUnknown(page, v1);
  await page.selectOption('[data-testid="sequence-select"]', 'T2w');
  await page.waitForFunction(() =>
    /T2w scan but/.test(document.querySelector('[data-testid="sequence-mismatch"]')?.textContent ?? ''),
  );
  await page.click('[data-testid="confirm-mismatch"]');
  const p2 = await probabilityOf(page, v2);
  assert(Math.abs(p2 - demoP) < 1e-5, `after confirming the mismatch P=${p2}, the demo scan's P=${demoP}`);
});

test('the button reads "Classify" while the scan has no result from the model', async ({ page }) => {
  // A model larger than the page allows is refused: classification ran and left no result.
  await page.goto(new URL('?backend=wasm&maxModelMiB=0.001', baseUrl).toString());
  await waitForScan(page, 0);
  await page.waitForSelector('[data-testid="inference-error"]', { timeout: 60_000 });
  assert(
    (await page.innerText('[data-testid="classify-again"]')) === 'Classify',
    `button: ${await page.innerText('[data-testid="classify-again"]')}`,
  );
});

/**
 * What in the side panels is cut off or sticks out: an element whose content is wider than its box
 * (clipped or spilling), one that crosses its panel's edges, a select narrower than its chosen
 * option's text, the panels or the page scrolling sideways. Inside a scroll container (the circuit
 * diagram) only the container itself is checked. Runs in the page.
 */
function layoutProblems(): string[] {
  const out: string[] = [];
  const name = (el: Element) => {
    const id = el.getAttribute('data-testid');
    const text = (el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 60);
    return `${id ? `[${id}]` : el.tagName.toLowerCase() + [...el.classList].map((c) => `.${c}`).join('')} "${text}"`;
  };
  const scrolls = (el: Element) => /auto|scroll/.test(getComputedStyle(el).overflowX);
  const page = document.scrollingElement!;
  if (page.scrollWidth > page.clientWidth + 1)
    out.push(`the page scrolls sideways (${page.scrollWidth} > ${page.clientWidth} px)`);
  const side = document.querySelector<HTMLElement>('[data-testid="side-panels"]')!;
  if (side.scrollWidth > side.clientWidth + 1)
    out.push(`the side panels scroll sideways (${side.scrollWidth} > ${side.clientWidth} px)`);
  for (const panel of Array.from(side.children)) {
    const edge = panel.getBoundingClientRect();
    for (const el of Array.from(panel.querySelectorAll('*'))) {
      let inScroller = false;
      for (let a = el.parentElement; a && a !== panel; a = a.parentElement) inScroller ||= scrolls(a);
      const r = el.getBoundingClientRect();
      if (inScroller || (r.width === 0 && r.height === 0)) continue; // scrolled into view by the user, or not rendered
      if (r.left < edge.left - 1 || r.right > edge.right + 1)
        out.push(
          `${name(el)} crosses its panel's edge (${r.left.toFixed(0)}–${r.right.toFixed(0)} vs ${edge.left.toFixed(0)}–${edge.right.toFixed(0)})`,
        );
      if (el instanceof HTMLElement && el.clientWidth > 0 && !scrolls(el) && el.scrollWidth > el.clientWidth + 1) {
        out.push(`${name(el)} is ${el.scrollWidth} px wide in a ${el.clientWidth} px box`);
      }
      if (el instanceof HTMLSelectElement && getComputedStyle(el).opacity !== '0') {
        // The width this select needs for its chosen option: a copy holding only that option, at its natural width.
        const copy = el.cloneNode(false) as HTMLSelectElement;
        copy.removeAttribute('id');
        copy.removeAttribute('data-testid');
        if (el.selectedOptions[0]) copy.append(el.selectedOptions[0].cloneNode(true));
        copy.style.cssText = 'position: absolute; visibility: hidden; width: auto; min-width: 0; max-width: none';
        el.parentElement!.append(copy);
        const need = copy.getBoundingClientRect().width;
        copy.remove();
        if (need > r.width + 1)
          out.push(
            `${name(el)} shows "${el.selectedOptions[0]?.text}" in ${r.width.toFixed(0)} px, needs ${need.toFixed(0)} px`,
          );
      }
    }
  }
  return out;
}

const SIZES: [number, number][] = [
  [1280, 800],
  [1440, 900],
  [1920, 1080],
];

test('the side panels lay out without clipping at 1280×800, 1440×900 and 1920×1080', async () => {
  // Playwright hides scrollbars in headless Chromium; users' scrollbars take width, so show them.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    ignoreDefaultArgs: ['--hide-scrollbars'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: SIZES[0][0], height: SIZES[0][1] } });
    // tsx compiles layoutProblems' inner functions with esbuild's __name(fn, name) wrapper, which the page lacks.
    await page.addInitScript('globalThis.__name = (fn) => fn');
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    mkdirSync(artifacts, { recursive: true });
    const problems: string[] = [];
    const check = async (state: string) => {
      for (const [w, h] of SIZES) {
        await page.setViewportSize({ width: w, height: h });
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        problems.push(...(await page.evaluate(layoutProblems)).map((p) => `${state} at ${w}×${h}: ${p}`));
        await page.screenshot({ path: join(artifacts, `layout-${state}-${w}x${h}.png`) });
      }
      // The rest of the side panels at the smallest size, one screenful at a time.
      const [w, h] = SIZES[0];
      await page.setViewportSize({ width: w, height: h });
      const side = page.locator('[data-testid="side-panels"]');
      for (
        let i = 1;
        await side.evaluate((el, i) => {
          el.scrollTo(0, i * el.clientHeight);
          return el.scrollTop > 0 && el.scrollTop >= (i - 1) * el.clientHeight + 1;
        }, i);
        i++
      ) {
        await page.screenshot({ path: join(artifacts, `layout-${state}-${w}x${h}-scrolled-${i}.png`) });
      }
      await side.evaluate((el) => el.scrollTo(0, 0));
    };
    await page.goto(new URL('?backend=wasm', baseUrl).toString());
    let v = await waitForScan(page, 0);
    // A result from the quantum model and the classical one beside it, the quantum panel drawn.
    await page.selectOption('[data-testid="compare-select"]', 'tsc-flair-resnet34');
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, card(v), { timeout: 180_000 });
    await page.waitForSelector('[data-testid="circuit-svg"]', { timeout: 60_000 });
    const gutter = await page
      .locator('[data-testid="side-panels"]')
      .evaluate((el: HTMLElement) => el.offsetWidth - el.clientWidth);
    assert(gutter > 1, `the side panels' scrollbar takes width in this browser (${gutter} px)`);
    await check('results');
    // A T2w scan with FLAIR models: the longest model labels (flagged) and the mismatch message.
    await page.setViewportSize({ width: SIZES[0][0], height: SIZES[0][1] });
    await dropFiles(page, [{ name: 'tsc-t2w.nii.gz', bytes: demo('tsc-t2w.nii.gz') }]);
    v = await waitForScan(page, v, 60_000);
    await page.waitForSelector('[data-testid="sequence-mismatch"]');
    await check('mismatch');
    await page.setViewportSize({ width: SIZES[0][0], height: SIZES[0][1] });
    await dropFiles(page, [unknownSequenceScan()]);
    await waitForScan(page, v, 60_000);
    await page.waitForSelector('[data-testid="sequence-required"]');
    await check('unknown-sequence');
    assert(problems.length === 0, `${problems.length} layout problem(s):\n  ${problems.join('\n  ')}`);
    assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
  } finally {
    await browser.close();
  }
});

await run();
