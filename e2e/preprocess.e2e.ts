/** The preprocessing panel: per-step progress bars fill, the brain mask overlay appears and toggles. */
import { assert, canvasStats, run, test, waitForScan } from './harness.ts';

test('preprocessing runs in the worker with per-step progress and a brain-mask overlay', async ({
  page,
  screenshot,
}) => {
  await waitForScan(page, 0);
  const before = await canvasStats(page);
  await page.getByTestId('preprocess-run').click();
  await page.getByTestId('preprocess-summary').waitFor({ timeout: 60_000 });
  for (const step of ['reorient', 'brain', 'resample', 'normalize']) {
    const fraction = await page.getByTestId(`preprocess-step-${step}`).getAttribute('data-fraction');
    assert(fraction === '1', `step ${step} ended at fraction ${fraction}`);
  }
  const summary = (await page.getByTestId('preprocess-summary').textContent()) ?? '';
  assert(/128×128×128|×/.test(summary), `summary names the grid: ${summary}`);
  await page.waitForTimeout(500);
  const withMask = await canvasStats(page);
  await screenshot('preprocess-mask');
  await page.getByTestId('preprocess-show-mask').uncheck();
  await page.waitForTimeout(500);
  const without = await canvasStats(page);
  assert(JSON.stringify(withMask) !== JSON.stringify(without), 'toggling the mask changed nothing on screen');
  assert(JSON.stringify(before) !== JSON.stringify(withMask), 'the mask overlay changed nothing on screen');
});

await run();
