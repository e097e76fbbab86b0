/**
 * Worker thread that runs dcm2niix's WebAssembly build the way @niivue/dcm2niix's own browser
 * worker does (dist/worker.jpeg.js), with ../dcm2niix-wasm.ts. Like that worker it keeps one
 * Emscripten instance per Dcm2niix instance, so a second run on one instance fails as it does in
 * the browser (/input exists already); a run for a new Dcm2niix instance gets a new one.
 */
import { parentPort } from 'node:worker_threads';
import {
  dcm2niixInstances,
  runDcm2niix,
  type Dcm2niixInput,
  type Dcm2niixModule,
  type Dcm2niixOutput,
} from '../dcm2niix-wasm.ts';

export interface ConvertRequest {
  /** Which Dcm2niix instance (which Web Worker, in the browser) runs this. */
  instance: number;
  files: Dcm2niixInput[];
  args: string[];
  /** Spin instead of converting, as dcm2niix does for seconds on some damaged files: a test's slow converter. */
  stall?: boolean;
}
export type ConvertReply =
  | (Dcm2niixOutput & { log: string[] })
  /** What the package's worker posts as the message: undefined for Emscripten's FS errors, which are no Error. */
  | { error: string | undefined; log: string[] };

const port = parentPort;
if (!port) throw new Error('dcm2niix-worker.ts runs as a worker thread');
const instance = await dcm2niixInstances();

let current: { instance: number; mod: Dcm2niixModule; log: string[] } | null = null;

port.on('message', async (req: ConvertRequest) => {
  const log: string[] = [];
  while (req.stall) {
    // until the thread is terminated
  }
  try {
    if (current?.instance !== req.instance) {
      const mod = await instance((s) => current?.log.push(s));
      current = { instance: req.instance, mod, log };
    }
    current.log = log;
    port.postMessage({ ...runDcm2niix(current.mod, req.files, req.args), log } satisfies ConvertReply);
  } catch (e) {
    // dcm2niix aborted (a trap or a failed assertion), or /input exists already (a second run on
    // one instance): the package's worker posts the error's message, undefined for the latter.
    port.postMessage({ error: (e as { message?: string }).message, log } satisfies ConvertReply);
  }
  // Emscripten's exit() sets the exit code; dcm2niix exits non-zero for what it cannot convert.
  process.exitCode = 0;
});
port.postMessage('ready');
