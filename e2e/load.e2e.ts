/** e2e: the demo scan renders, a clinical-like NIfTI shows the right header, every bad input is refused cleanly. */
import { assert, canvasStats, dropFiles, pickFiles, run, scanVersion, test, waitForScan } from './harness.ts';
import { badCorpus } from '../tools/bad-corpus.ts';
import { makePhantom } from '../tools/phantom.ts';
import { writeNifti } from '../src/core/load/nifti-write.ts';
import type { Page } from 'playwright-core';

const text = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`).innerText();

async function expectRendered(page: Page, label: string): Promise<void> {
  const s = await canvasStats(page);
  assert(
    s.nonBackground > 0.05 && s.lumaStd > 8 && s.levels > 16,
    `${label}: the viewer looks blank (${JSON.stringify(s)})`,
  );
}

test('demo scan (the TSC FLAIR phantom, for the default model) renders on first start', async ({
  page,
  screenshot,
  requests,
  baseUrl,
}) => {
  await waitForScan(page, 0);
  assert((await text(page, 'header-file')) === 'tsc-flair.nii.gz', 'header panel names the demo file');
  assert((await text(page, 'header-dims')) === '280 × 280 × 40', `dims: ${await text(page, 'header-dims')}`);
  assert(
    (await text(page, 'header-orientation')).startsWith('RAI'),
    `orientation: ${await text(page, 'header-orientation')}`,
  );
  assert(
    (await page.locator('[data-testid="demo-select"]').inputValue()) === 'tsc-flair.nii.gz',
    'the demo menu shows the loaded scan',
  );
  assert(
    (await page.locator('[data-testid="sequence-select"]').inputValue()) === 'FLAIR',
    'demo sequence detected as FLAIR',
  );
  assert(/not a medical device/i.test(await text(page, 'not-a-medical-device')), 'notice is visible');
  await expectRendered(page, 'demo');
  await screenshot('demo-scan');
  const origin = new URL(baseUrl).origin;
  const outside = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert(outside.length === 0, `requests left the page's origin: ${outside.join(', ')}`);
});

test('every demo scan loads from the demo menu with its sequence, and says it is synthetic', async ({ page }) => {
  let v = await waitForScan(page, 0);
  const menu = page.locator('[data-testid="demo-select"]');
  const options = await menu
    .locator('option:not([disabled])')
    .evaluateAll((els) => els.map((e) => [(e as HTMLOptionElement).value, e.textContent ?? '']));
  const expected: Record<string, { dims: string; sequence: string }> = {
    'tsc-flair.nii.gz': { dims: '280 × 280 × 40', sequence: 'FLAIR' },
    'tsc-t2w.nii.gz': { dims: '276 × 276 × 25', sequence: 'T2w' },
    'ms-flair.nii.gz': { dims: '261 × 261 × 31', sequence: 'FLAIR' },
    'healthy-flair.nii.gz': { dims: '313 × 313 × 28', sequence: 'FLAIR' },
    'phantom.nii.gz': { dims: '112 × 136 × 112', sequence: 'FLAIR' },
  };
  assert(
    JSON.stringify(options.map(([name]) => name)) === JSON.stringify(Object.keys(expected)),
    `menu lists ${options.map(([n]) => n).join(', ')}`,
  );
  for (const [name, label] of options) {
    assert(
      /synthetic|generated test phantom/i.test(label) && /FLAIR|T2w/.test(label),
      `${name}: menu line "${label}" must say it is synthetic and name its sequence`,
    );
    if (name === 'tsc-flair.nii.gz') continue;
    // Each scan settles (result, mismatch prompt or error) first; switching mid-run is e2e/switch-scans.
    await page.waitForSelector(
      `[data-testid="result-card"][data-scan-version="${v}"], [data-testid="sequence-mismatch"], [data-testid="inference-error"]`,
      { timeout: 120_000 },
    );
    await menu.selectOption(name);
    v = await waitForScan(page, v, 30_000);
    assert((await text(page, 'header-file')) === name, `${name}: header shows ${await text(page, 'header-file')}`);
    assert(
      (await text(page, 'header-dims')) === expected[name].dims,
      `${name}: dims ${await text(page, 'header-dims')}`,
    );
    assert(
      (await page.locator('[data-testid="sequence-select"]').inputValue()) === expected[name].sequence,
      `${name}: sequence`,
    );
    assert((await menu.inputValue()) === name, `${name}: the menu shows the loaded scan`);
  }
  await expectRendered(page, 'the last demo scan');
});

test('clinical-like NIfTI (uint16, anisotropic, oblique) shows its orientation', async ({ page, screenshot }) => {
  const v0 = await waitForScan(page, 0);
  // LPS grid tilted 12° about the left-right axis, 0.9 × 0.9 × 4 mm, like a clinical 2D FLAIR.
  const t = (12 * Math.PI) / 180;
  const [sx, sy, sz] = [0.9, 0.9, 4];
  const dims: [number, number, number] = [200, 230, 34];
  const affine = [
    -sx,
    0,
    0,
    90,
    0,
    -sy * Math.cos(t),
    -sz * Math.sin(t),
    110,
    0,
    -sy * Math.sin(t),
    sz * Math.cos(t),
    -50,
    0,
    0,
    0,
    1,
  ];
  const vol = makePhantom({ dims, affine, contrast: 'T2w', noise: 4, seed: 11 });
  const bytes = writeNifti(vol, { datatype: 'uint16', gzip: true, description: 'clinical-like test' });
  await dropFiles(page, [{ name: 'ms_patient02_T2W.nii.gz', bytes }]);
  await waitForScan(page, v0);
  assert(
    (await text(page, 'header-orientation')).startsWith('LPS'),
    `orientation: ${await text(page, 'header-orientation')}`,
  );
  assert((await text(page, 'header-dims')) === '200 × 230 × 34', `dims: ${await text(page, 'header-dims')}`);
  assert((await text(page, 'header-datatype')) === 'uint16', 'datatype');
  assert((await text(page, 'header-spacing')) === '0.9 × 0.9 × 4 mm', `spacing: ${await text(page, 'header-spacing')}`);
  assert((await page.locator('[data-testid="sequence-select"]').inputValue()) === 'T2w', 'T2w from the file name');
  await expectRendered(page, 'clinical-like');
  await screenshot('clinical-like-lps-oblique');
});

test('each bad-input file shows its message and keeps the previous scan', async ({ page, screenshot }) => {
  const v0 = await waitForScan(page, 0);
  const corpus = badCorpus();
  for (const f of corpus) {
    await dropFiles(page, [{ name: f.name, bytes: f.bytes }]);
    const banner = page.locator(`[data-testid="error-banner"][data-code="${f.code}"]`);
    await banner.waitFor({ timeout: 60_000 }).catch(async () => {
      const shown = (await page.locator('[data-testid="error-banner"]').count())
        ? await text(page, 'error-message')
        : '(no banner)';
      throw new Error(`${f.name}: expected a ${f.code} banner, page shows: ${shown}`);
    });
    const message = await text(page, 'error-message');
    assert(
      message.toLowerCase().includes(f.expect.toLowerCase()),
      `${f.name}: message "${message}" lacks "${f.expect}"`,
    );
    assert((await scanVersion(page)) === v0, `${f.name}: the previous scan was replaced`);
    assert((await text(page, 'header-file')) === 'tsc-flair.nii.gz', `${f.name}: the header panel changed`);
    if (f.name === corpus[0].name) await screenshot('bad-input-banner');
    await page.click('[data-testid="dismiss-error"]');
  }
  await expectRendered(page, 'after the bad inputs');
});

test('a 4D file can be loaded as its first volume', async ({ page }) => {
  const v0 = await waitForScan(page, 0);
  const f = badCorpus().find((b) => b.name === 'fmri-4d.nii.gz')!;
  await pickFiles(page, [{ name: f.name, bytes: f.bytes }]);
  await page.click('[data-testid="take-first-volume"]');
  await waitForScan(page, v0);
  assert((await text(page, 'header-dims')).startsWith('12 × 10 × 8'), `dims: ${await text(page, 'header-dims')}`);
  assert((await page.locator('[data-testid="error-banner"]').count()) === 0, 'banner cleared');
});

test('unknown sequence must be chosen; layout, window and crosshair controls work', async ({ page }) => {
  const v0 = await waitForScan(page, 0);
  const vol = makePhantom({ dims: [64, 76, 64], spacing: [2.5, 2.5, 2.5], seed: 2 });
  await dropFiles(page, [{ name: 'brain.nii', bytes: writeNifti(vol, { datatype: 'int16' }) }]);
  await waitForScan(page, v0);
  await page.locator('[data-testid="sequence-required"]').waitFor();
  await page.selectOption('[data-testid="sequence-select"]', 'T2w');
  assert((await page.locator('[data-testid="sequence-required"]').count()) === 0, 'choice clears the requirement');
  assert((await text(page, 'sequence-evidence')).startsWith('Set by you'), 'override is shown');

  await page.click('[data-testid="layout-axial"]');
  const box = (await page.locator('[data-testid="viewer-canvas"]').boundingBox())!;
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.locator('[data-testid="crosshair-value"]').waitFor();
  const value = Number(await text(page, 'crosshair-value'));
  assert(Number.isFinite(value), `crosshair value: ${value}`);
  await page.fill('[data-testid="window-min"]', '0');
  await page.fill('[data-testid="window-max"]', '50');
  await page.press('[data-testid="window-max"]', 'Enter');
  assert((await page.locator('[data-testid="window-max"]').inputValue()) === '50', 'window kept');
  await expectRendered(page, 'axial');
});

await run();
