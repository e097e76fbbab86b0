/** e2e: DICOM series generated from a phantom load with the dimensions of the volume they came from. */
import type { Page } from 'playwright-core';
import { assert, dropFiles, run, scanVersion, test, waitForScan } from './harness.ts';
import { volumeToDicom } from './dicom-series.ts';
import { makePhantom } from '../tools/phantom.ts';

const dims: [number, number, number] = [64, 72, 24];
const flair = makePhantom({ dims, spacing: [3, 3, 6], contrast: 'FLAIR', noise: 2, seed: 5 });
const t2 = makePhantom({ dims, spacing: [3, 3, 6], contrast: 'T2w', noise: 2, seed: 6 });
/** A 2D FLAIR's times (ms): with the inversion time the acquisition itself reads as FLAIR. */
const flairTimes = { echoTime: 90, repetitionTime: 9000, inversionTime: 2500 };

test('a DICOM series loads with the dimensions of its source volume', async ({ page, screenshot }) => {
  const v0 = await waitForScan(page, 0);
  await dropFiles(
    page,
    volumeToDicom(flair, { seriesNumber: 4, seriesDescription: 't2_tirm_tra_dark-fluid', ...flairTimes }),
  );
  await waitForScan(page, v0, 60_000);
  const shown = await page.locator('[data-testid="header-dims"]').innerText();
  assert(shown === dims.join(' × '), `dims ${shown}, expected ${dims.join(' × ')}`);
  assert(
    (await page.locator('[data-testid="sequence-select"]').inputValue()) === 'FLAIR',
    'FLAIR from the acquisition times and SeriesDescription',
  );
  await screenshot('dicom-series');
});

/** Waits for a scan newer than `after` or the error banner, so a refused drop fails at once with its message. */
async function waitForDicom(page: Page, after: number): Promise<number> {
  await page.waitForFunction(
    (v) => {
      const c = document.querySelector('[data-testid="viewer-canvas"]');
      const rendered =
        c?.getAttribute('data-rendered') === 'true' && Number(c.getAttribute('data-scan-version') ?? 0) > v;
      return rendered || document.querySelector('[data-testid="error-banner"]') !== null;
    },
    after,
    { timeout: 60_000 },
  );
  const banner = page.locator('[data-testid="error-banner"]');
  const refused = (await banner.count()) > 0 ? await banner.innerText() : null;
  assert(refused === null, `refused: ${refused}`);
  return scanVersion(page);
}

test('a second DICOM drop loads too', async ({ page }) => {
  const v0 = await waitForScan(page, 0);
  await dropFiles(page, volumeToDicom(flair, { seriesNumber: 2, seriesDescription: 'AX FLAIR', ...flairTimes }));
  const v1 = await waitForDicom(page, v0);
  assert(
    (await page.locator('[data-testid="sequence-select"]').inputValue()) === 'FLAIR',
    'first drop: FLAIR from the acquisition times and SeriesDescription',
  );
  await dropFiles(page, volumeToDicom(t2, { seriesNumber: 3, seriesDescription: 'AX T2 TSE' }));
  await waitForDicom(page, v1);
  assert(
    (await page.locator('[data-testid="sequence-select"]').inputValue()) === 'T2w',
    'second drop: T2w from SeriesDescription',
  );
  assert((await page.locator('[data-testid="header-dims"]').innerText()) === dims.join(' × '), 'dims');
});

test('several series: the user chooses one', async ({ page }) => {
  const v0 = await waitForScan(page, 0);
  await dropFiles(page, [
    ...volumeToDicom(flair, { seriesNumber: 2, seriesDescription: 'AX FLAIR', ...flairTimes }),
    ...volumeToDicom(t2, { seriesNumber: 3, seriesDescription: 'AX T2 TSE' }),
  ]);
  await page.locator('[data-testid="series-chooser"]').waitFor({ timeout: 60_000 });
  const options = page.locator('[data-testid="series-option"]');
  assert((await options.count()) === 2, `${await options.count()} series offered`);
  await options.filter({ hasText: 'AX T2 TSE' }).click();
  await waitForScan(page, v0);
  assert((await page.locator('[data-testid="sequence-select"]').inputValue()) === 'T2w', 'T2w from SeriesDescription');
  assert((await page.locator('[data-testid="header-dims"]').innerText()) === dims.join(' × '), 'dims');
});

await run();
