/** Browser side of `npm run bench:preprocess`: times the page's preprocessing worker on the bench volume. */
import * as Comlink from 'comlink';
import type { PreprocessWorkerApi } from '../src/core/protocol.ts';
import { benchVolume } from './preprocess-volume.ts';

interface PageRun {
  wallMs: number;
  steps: { name: string; ms: number }[];
}

async function runBench(runs: number): Promise<PageRun[]> {
  const worker = new Worker(new URL('../workers/preprocess.worker.ts', import.meta.url), { type: 'module' });
  const api = Comlink.wrap<PreprocessWorkerApi>(worker);
  const volume = benchVolume();
  const out: PageRun[] = [];
  for (let r = 0; r < runs; r++) {
    const copy = { ...volume, data: volume.data.slice() };
    const t0 = performance.now();
    const result = await api.preprocessVolume(
      Comlink.transfer(copy, [copy.data.buffer]),
      {},
      Comlink.proxy(() => undefined),
    );
    out.push({ wallMs: performance.now() - t0, steps: result.steps });
  }
  worker.terminate();
  return out;
}

(window as unknown as { runBench: typeof runBench }).runBench = runBench;
document.title = 'ready';
