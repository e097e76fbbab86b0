/**
 * @niivue/dcm2niix's Dcm2niix for node, which has no Web Worker: the same WebAssembly build runs in
 * a worker thread (dcm2niix-thread.ts), one thread an instance as the package has one Web Worker an
 * instance, and answers as the package's run() does (the files when dcm2niix exits 0 or 3, else an
 * Error naming the exit code). convertSeries (src/core/load/dicom.ts) takes it in place of the
 * package's, so `qumri adapt` converts DICOM exactly as the page does.
 */
import { Worker } from 'node:worker_threads';
import type { Dcm2niixLike, Dcm2niixRun } from '../core/load/dicom.ts';
import type { ThreadReply, ThreadRequest } from './dcm2niix-thread.ts';

const BOOT = new URL('./thread-boot.mjs', import.meta.url);
const ENTRY = new URL('./dcm2niix-thread.ts', import.meta.url).href;

/** The thread's next message, or its error or early exit as an Error. */
function reply<T>(w: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const off = () => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    const onMessage = (m: T) => (off(), resolve(m));
    const onError = (e: Error) => (off(), reject(e));
    const onExit = (code: number) => (off(), reject(new Error(`dcm2niix's thread ended (exit code ${code})`)));
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
  });
}

export class NodeDcm2niix implements Dcm2niixLike {
  private thread: Worker | null = null;
  worker: { terminate(): void } | null = null;

  async init(): Promise<boolean> {
    const w = new Worker(BOOT, { workerData: { entry: ENTRY } });
    this.thread = w;
    this.worker = {
      // terminate() waits for WebAssembly stuck in a loop to yield, which may be never: unref'd, the
      // thread cannot keep the command from ending.
      terminate: () => {
        w.unref();
        void w.terminate();
      },
    };
    await reply<'ready'>(w);
    return true;
  }

  input(files: ArrayLike<File>): Dcm2niixRun {
    const args: string[] = [];
    const thread = () => {
      if (!this.thread) throw new Error('dcm2niix: init() first');
      return this.thread;
    };
    const run: Dcm2niixRun = {
      bids: (value) => (args.push('-b', value), run),
      gzip: (value) => (args.push('-z', value), run),
      run: async () => {
        const w = thread();
        const request: ThreadRequest = {
          files: await Promise.all(
            Array.from(files, async (f) => ({
              // As the package: the path given in _webkitRelativePath, else the name.
              path: (f as File & { _webkitRelativePath?: string })._webkitRelativePath || f.name,
              bytes: new Uint8Array(await f.arrayBuffer()),
            })),
          ),
          args,
        };
        const answer = reply<ThreadReply>(w);
        w.postMessage(request);
        const r = await answer;
        if ('error' in r) throw new Error(r.error);
        if (r.exitCode !== 0 && r.exitCode !== 3)
          throw new Error(`dcm2niix processing failed with exit code ${r.exitCode}`);
        return r.files.map((f) => new File([f.bytes], f.name));
      },
    };
    return run;
  }
}
