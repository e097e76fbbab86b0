/**
 * Worker thread that runs dcm2niix's WebAssembly build (the JPEG one the app loads) the way
 * @niivue/dcm2niix's own browser worker does (dist/worker.jpeg.js): input files written to /input,
 * `dcm2niix -o /output <args> /input`, every file of /output returned with the exit code. Like that
 * worker it keeps one Emscripten instance per Dcm2niix instance, so a second run on one instance
 * fails as it does in the browser (/input exists already); a run for a new Dcm2niix instance
 * gets a new one.
 */
import { parentPort } from 'node:worker_threads';
import { readFileSync } from 'node:fs';

interface EmscriptenFS {
  mkdir(path: string): void;
  readdir(path: string): string[];
  readFile(path: string): Uint8Array<ArrayBuffer>;
  createDataFile(dir: string, name: string, data: Uint8Array, canRead: boolean, canWrite: boolean): void;
}
interface Dcm2niixModule {
  FS: EmscriptenFS;
  callMain(args: string[]): number;
}
type Factory = (opts: {
  print: (s: string) => void;
  printErr: (s: string) => void;
  instantiateWasm: (
    imports: WebAssembly.Imports,
    receive: (instance: WebAssembly.Instance) => unknown,
  ) => Promise<unknown>;
}) => Promise<Dcm2niixModule>;

export interface ConvertRequest {
  /** Which Dcm2niix instance (which Web Worker, in the browser) runs this. */
  instance: number;
  /** `path` as the package's worker gets it (webkitRelativePath or name); '/' becomes '_'. */
  files: { path: string; bytes: Uint8Array }[];
  args: string[];
  /** Spin instead of converting, as dcm2niix does for seconds on some damaged files: a test's slow converter. */
  stall?: boolean;
}
export type ConvertReply =
  | { files: { name: string; bytes: Uint8Array<ArrayBuffer> }[]; exitCode: number; log: string[] }
  /** What the package's worker posts as the message: undefined for Emscripten's FS errors, which are no Error. */
  | { error: string | undefined; log: string[] };

const port = parentPort;
if (!port) throw new Error('dcm2niix-worker.ts runs as a worker thread');
// The package's exports map only offers its index; the Emscripten module sits beside it, untyped.
const index = import.meta.resolve('@niivue/dcm2niix');
const factory = ((await import(new URL('./dcm2niix.jpeg.js', index).href)) as { default: Factory }).default;
const wasm = await WebAssembly.compile(readFileSync(new URL('./dcm2niix.jpeg.wasm', index)));

let current: { instance: number; mod: Dcm2niixModule; log: string[] } | null = null;

port.on('message', async (req: ConvertRequest) => {
  const log: string[] = [];
  while (req.stall) {
    // until the thread is terminated
  }
  try {
    if (current?.instance !== req.instance) {
      const mod = await factory({
        print: (s) => current?.log.push(s),
        printErr: (s) => current?.log.push(s),
        instantiateWasm: async (imports, receive) => receive(await WebAssembly.instantiate(wasm, imports)),
      });
      current = { instance: req.instance, mod, log };
    }
    const { mod } = current;
    current.log = log;
    mod.FS.mkdir('/input');
    mod.FS.mkdir('/output');
    for (const f of req.files) mod.FS.createDataFile('/input', f.path.split('/').join('_'), f.bytes, true, true);
    const exitCode = mod.callMain(['-o', '/output', ...req.args, '/input']);
    const files = mod.FS.readdir('/output')
      .filter((n) => !n.startsWith('.'))
      .map((name) => ({ name, bytes: mod.FS.readFile(`/output/${name}`) }));
    port.postMessage({ files, exitCode, log } satisfies ConvertReply);
  } catch (e) {
    // dcm2niix aborted (a trap or a failed assertion), or /input exists already (a second run on
    // one instance): the package's worker posts the error's message, undefined for the latter.
    port.postMessage({ error: (e as { message?: string }).message, log } satisfies ConvertReply);
  }
  // Emscripten's exit() sets the exit code; dcm2niix exits non-zero for what it cannot convert.
  process.exitCode = 0;
});
port.postMessage('ready');
