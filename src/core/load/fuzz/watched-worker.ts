/**
 * A worker thread that answers one message at a time under a deadline. Fuzz cases run there so
 * that a case stuck in a synchronous loop is detected: the test thread stays free to notice, ends
 * the worker and starts a new one for the next case.
 */
import { Worker } from 'node:worker_threads';

/** The bound for one case. Cases take milliseconds, so only a real hang gets near it. */
export const CASE_LIMIT_MS = 2000;

/** `hung`: no answer within the limit; `killed`: kill() ended the worker first. */
export type Answer<R> = { ok: true; reply: R; ms: number } | { ok: false; why: 'hung' | 'killed'; ms: number };

export class WatchedWorker<Q, R> {
  private worker: Worker | null = null;
  private readonly entry: URL;
  /** Ends the call in flight, if any, with `killed`. */
  private killCall: (() => void) | null = null;

  constructor(entry: URL) {
    this.entry = entry;
  }

  /** Starts the worker (unless running) and waits for its first message, so start-up never counts against a case. */
  async start(): Promise<void> {
    if (this.worker) return;
    const w = new Worker(new URL('./boot.mjs', import.meta.url), { workerData: { entry: this.entry.href } });
    await new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    });
    this.worker = w;
  }

  async call(message: Q, transfer: ArrayBuffer[] = [], limitMs = CASE_LIMIT_MS): Promise<Answer<R>> {
    if (!this.worker) await this.start();
    const w = this.worker as Worker;
    const t0 = performance.now();
    const answer = await new Promise<Answer<R> | Error>((resolve) => {
      const timer = setTimeout(() => done({ ok: false, why: 'hung', ms: performance.now() - t0 }), limitMs);
      const done = (v: Answer<R> | Error) => {
        clearTimeout(timer);
        this.killCall = null;
        w.off('message', onMessage);
        w.off('error', onError);
        resolve(v);
      };
      this.killCall = () => done({ ok: false, why: 'killed', ms: performance.now() - t0 });
      const onMessage = (reply: R) => done({ ok: true, reply, ms: performance.now() - t0 });
      const onError = (e: Error) => done(e);
      w.on('message', onMessage);
      w.on('error', onError);
      w.postMessage(message, transfer);
    });
    if (answer instanceof Error) {
      // An exception that escaped the worker's own handler: the worker is gone, so is this case.
      this.worker = null;
      throw answer;
    }
    if (!answer.ok && this.worker === w) this.abandon();
    return answer;
  }

  /** Ends the worker now, as terminate() ends a Web Worker, whatever it is running; the next call starts a new one. */
  kill(): void {
    this.killCall?.();
    if (this.worker) this.abandon();
  }

  private abandon(): void {
    const w = this.worker as Worker;
    // terminate() waits until WebAssembly stuck in a loop yields, which may be never: the thread
    // is left to end on its own (unref'd, so it cannot keep the process alive) and replaced.
    this.worker = null;
    w.unref();
    void w.terminate();
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
