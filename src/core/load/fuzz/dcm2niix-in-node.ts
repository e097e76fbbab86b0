/**
 * Node stand-in for @niivue/dcm2niix's Dcm2niix, for vi.mock in the DICOM fuzz test: the same
 * calls (init, input(files).bids().gzip().run(), worker.terminate()) and results as the package's
 * Processor.run (the files when dcm2niix exits 0 or 3, an Error otherwise), with the real
 * WebAssembly conversion running in a watched worker thread as it runs in a Web Worker in the
 * browser. The thread is shared; each instance gets its own Emscripten instance there, as each
 * gets its own Web Worker in the browser.
 */
import { WatchedWorker } from './watched-worker.ts';
import type { ConvertReply, ConvertRequest } from './dcm2niix-worker.ts';

/**
 * What the test reads after each case (and resets before it): conversions that ran past the
 * deadline (convertDicom reports them as a ScanError, as it would a crash), the time spent
 * converting; and over the run, aborts (dcm2niix crashed), the last log, and the instances
 * initialised whose worker was not terminated yet.
 */
export const conversions = { overran: 0, ms: 0, aborts: 0, log: [] as string[], live: 0 };

const worker = new WatchedWorker<ConvertRequest, ConvertReply>(new URL('./dcm2niix-worker.ts', import.meta.url));

export function stopDcm2niix(): Promise<void> {
  return worker.stop();
}

let instances = 0;

class Processor {
  private readonly commands: string[] = [];
  private readonly instance: number;
  private readonly files: File[];

  constructor(instance: number, files: File[]) {
    this.instance = instance;
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
    const files = await Promise.all(this.files.map(async (f) => ({
      // The package reads file.webkitRelativePath || file._webkitRelativePath, then falls back to the name.
      path: (f as File & { _webkitRelativePath?: string })._webkitRelativePath || f.name,
      bytes: new Uint8Array(await f.arrayBuffer()),
    })));
    const t0 = performance.now();
    const answer = await worker.call({ instance: this.instance, files, args: this.commands }, files.map((f) => f.bytes.buffer));
    // With the time to start a worker where the last one was abandoned: harness time, not the loader's.
    conversions.ms += performance.now() - t0;
    if (!answer.ok) {
      conversions.overran++;
      throw new Error(`dcm2niix did not finish within ${Math.round(answer.ms)} ms`);
    }
    const r = answer.reply;
    conversions.log = r.log;
    if ('error' in r) {
      conversions.aborts++;
      throw new Error(r.error);
    }
    if (r.exitCode !== 0 && r.exitCode !== 3) throw new Error(`dcm2niix processing failed with exit code ${r.exitCode}`);
    return r.files.map((f) => new File([f.bytes], f.name));
  }
}

export class Dcm2niix {
  /** The package's Web Worker, of which the load worker uses terminate() alone. */
  worker: { terminate(): void } | null = null;
  private readonly instance = ++instances;

  async init(): Promise<boolean> {
    await worker.start();
    conversions.live++;
    let terminated = false;
    this.worker = {
      terminate: () => {
        if (!terminated) conversions.live--;
        terminated = true;
      },
    };
    return true;
  }

  input(files: ArrayLike<File>): Processor {
    return new Processor(this.instance, Array.from(files));
  }
}
