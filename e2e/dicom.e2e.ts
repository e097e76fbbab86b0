/** e2e: DICOM series generated from a phantom load with the dimensions of the volume they came from. */
import { assert, dropFiles, run, test, waitForScan } from './harness.ts';
import { volumeToDicom } from './dicom-series.ts';
import { makePhantom } from '../tools/phantom.ts';

const dims: [number, number, number] = [64, 72, 24];
const flair = makePhantom({ dims, spacing: [3, 3, 6], contrast: 'FLAIR', noise: 2, seed: 5 });
const t2 = makePhantom({ dims, spacing: [3, 3, 6], contrast: 'T2w', noise: 2, seed: 6 });

test('a DICOM series loads with the dimensions of its source volume', async ({ page, screenshot }) => {
  const v0 = await waitForScan(page, 0);
  await dropFiles(page, volumeToDicom(flair, { seriesNumber: 4, seriesDescription: 't2_tirm_tra_dark-fluid' }));
  await waitForScan(page, v0, 60_000);
  const shown = await page.locator('[data-testid="header-dims"]').innerText();
  assert(shown === dims.join(' × '), `dims ${shown}, expected ${dims.join(' × ')}`);
  assert((await page.locator('[data-testid="sequence-select"]').inputValue()) === 'FLAIR', 'FLAIR from SeriesDescription');
  await screenshot('dicom-series');
});

test('several series: the user chooses one', async ({ page }) => {
  const v0 = await waitForScan(page, 0);
  await dropFiles(page, [
    ...volumeToDicom(flair, { seriesNumber: 2, seriesDescription: 'AX FLAIR' }),
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
