// Switching scans while a classification is still running must not crash ONNX Runtime (one session
// never runs twice at once) and must end with the newest scan's result.
import { assert, run, test, waitForScan } from './harness.ts';

test('scans switched mid-classification: no crash, the last scan gets its result', async ({ page }) => {
  let v = await waitForScan(page, 0);
  const menu = page.locator('[data-testid="demo-select"]');
  for (const name of ['ms-flair.nii.gz', 'healthy-flair.nii.gz', 'tsc-flair.nii.gz', 'ms-flair.nii.gz']) {
    await menu.selectOption(name);
    v = await waitForScan(page, v, 60_000);
  }
  await page.waitForSelector(`[data-testid="result-card"][data-scan-version="${v}"], [data-testid="inference-error"]`, {
    timeout: 180_000,
  });
  const error = page.locator('[data-testid="inference-error"]');
  assert((await error.count()) === 0, `inference error: ${(await error.count()) ? await error.innerText() : ''}`);
});

await run();
