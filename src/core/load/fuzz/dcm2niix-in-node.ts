/**
 * Node stand-in for @niivue/dcm2niix's Dcm2niix, for vi.mock in the DICOM fuzz test: the same
 * calls (init, input(files).bids().gzip().run(), worker.terminate()) and results as the package's
 * Processor.run (the files when dcm2niix exits 0 or 3, an Error otherwise), with the real
 * WebAssembly conversion running in a watched worker thread as it runs in a Web Worker in the
 * browser. The thread is shared; each instance gets its own Emscripten instance there, as each
 * gets its own Web Worker in the browser.
 */
import { CASE_LIMIT_MS, WatchedWorker } from './watched-worker.ts';
import type { ConvertReply, ConvertRequest } from './dcm2niix-worker.ts';

/**
 * What the test reads after each case (and resets before it): conversions the load worker stopped
 * by terminating dcm2niix's worker (its deadline), conversions that ran on past the backstop with
 * nobody stopping them, the time spent starting and running dcm2niix; and over the run, aborts
 * (dcm2niix crashed), the last log, and the instances initialised whose worker was not terminated
 * yet. `stallNext` makes the next conversion spin until terminated (a test's slow converter).
 */
export const conversions = { stopped: 0, overran: 0, ms: 0, aborts: 0, log: [] as string[], live: 0, stallNext: false };

/**
 * convertDicom must stop a conversion at its own deadline (the fuzz test gives it CASE_LIMIT_MS);
 * this catches one it does not stop, without waiting for dcm2niix's slowest damaged files (15 s).
 */
const BACKSTOP_MS = 3 * CASE_LIMIT_MS;

const worker = new WatchedWorker<ConvertRequest, ConvertReply>(new URL('./dcm2niix-worker.ts', import.meta.url));

export function stopDcm2niix(): Promise<void> {
  return worker.stop();
}

let instances = 0;

interface Instance {
  id: number;
  /** Its conversion spins until terminated (conversions.stallNext when it was created). */
  stall: boolean;
  /** Its conversion is running in the thread. */
  busy: boolean;
  /** Its conversion has answered. */
  finished: boolean;
  terminated: boolean;
}

class Processor {
  private readonly commands: string[] = [];
  private readonly owner: Instance;
  private readonly files: File[];

  constructor(owner: Instance, files: File[]) {
    this.owner = owner;
    this.files = files;
  }

  bids(value: string): this {
    this.commands.push('-b', value);
    return this;
  }

  gzip(value: string): this {
    this.commands.push('-z', value);
    return this;
  }

  async run(): Promise<File[]> {
    const files = await Promise.all(
      this.files.map(async (f) => ({
        // The package reads file.webkitRelativePath || file._webkitRelativePath, then falls back to the name.
        path: (f as File & { _webkitRelativePath?: string })._webkitRelativePath || f.name,
        bytes: new Uint8Array(await f.arrayBuffer()),
      })),
    );
    // A terminated Web Worker never answers, so the package's run() never settles.
    if (this.owner.terminated) return new Promise<never>(() => {});
    const t0 = performance.now();
    this.owner.busy = true;
    const answer = await worker.call(
      { instance: this.owner.id, files, args: this.commands, stall: this.owner.stall },
      files.map((f) => f.bytes.buffer),
      BACKSTOP_MS,
    );
    this.owner.busy = false;
    this.owner.finished = true;
    conversions.ms += performance.now() - t0;
    if (!answer.ok) {
      if (answer.why === 'killed') return new Promise<never>(() => {});
      conversions.overran++;
      throw new Error(`dcm2niix was still running after ${Math.round(answer.ms)} ms and nothing had stopped it`);
    }
    const r = answer.reply;
    conversions.log = r.log;
    if ('error' in r) {
      conversions.aborts++;
      throw new Error(r.error);
    }
    if (r.exitCode !== 0 && r.exitCode !== 3)
      throw new Error(`dcm2niix processing failed with exit code ${r.exitCode}`);
    return r.files.map((f) => new File([f.bytes], f.name));
  }
}

export class Dcm2niix {
  /** The package's Web Worker, of which the load worker uses terminate() alone. */
  worker: { terminate(): void } | null = null;
  private readonly instance: Instance = {
    id: ++instances,
    stall: conversions.stallNext,
    busy: false,
    finished: false,
    terminated: false,
  };

  constructor() {
    conversions.stallNext = false;
  }

  async init(): Promise<boolean> {
    // As in the package, the worker exists from the start of init(), so it can be terminated while it starts.
    const state = this.instance;
    conversions.live++;
    this.worker = {
      terminate: () => {
        if (state.terminated) return;
        state.terminated = true;
        conversions.live--;
        if (state.finished) return;
        conversions.stopped++;
        if (state.busy) worker.kill();
      },
    };
    // Starting a thread where the last one was killed is harness time, not the loader's.
    const t0 = performance.now();
    await worker.start();
    conversions.ms += performance.now() - t0;
    return true;
  }

  input(files: ArrayLike<File>): Processor {
    return new Processor(this.instance, Array.from(files));
  }
}
