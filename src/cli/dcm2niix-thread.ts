/**
 * Worker thread of src/cli/dcm2niix.ts: one conversion with dcm2niix's WebAssembly build
 * (src/core/load/dcm2niix-wasm.ts) a thread, so each conversion gets a fresh Emscripten instance
 * as each of the page's does.
 */
import { parentPort } from 'node:worker_threads';
import { dcm2niixInstances, runDcm2niix, type Dcm2niixInput, type Dcm2niixOutput } from '../core/load/dcm2niix-wasm.ts';

export interface ThreadRequest {
  files: Dcm2niixInput[];
  args: string[];
}
/** The conversion, or why dcm2niix aborted (a trap or a failed assertion). */
export type ThreadReply = Dcm2niixOutput | { error: string };

const port = parentPort;
if (!port) throw new Error('dcm2niix-thread.ts runs as a worker thread');
const instance = await dcm2niixInstances();

port.once('message', async (req: ThreadRequest) => {
  try {
    // dcm2niix's log is not shown: convertSeries says what went wrong from the exit code.
    port.postMessage(runDcm2niix(await instance(() => {}), req.files, req.args) satisfies ThreadReply);
  } catch (e) {
    port.postMessage({ error: (e as { message?: string }).message ?? String(e) } satisfies ThreadReply);
  }
  process.exitCode = 0;
});
port.postMessage('ready');
