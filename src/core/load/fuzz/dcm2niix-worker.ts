/**
 * Worker thread that runs dcm2niix's WebAssembly build (the JPEG one the app loads) the way
 * @niivue/dcm2niix's own browser worker does (dist/worker.jpeg.js): input files written to /input,
 * `dcm2niix -o /output <args> /input`, every file of /output returned with the exit code.
 */
import { parentPort } from 'node:worker_threads';
import { readFileSync } from 'node:fs';

interface EmscriptenFS {
  mkdir(path: string): void;
  readdir(path: string): string[];
  readFile(path: string): Uint8Array<ArrayBuffer>;
  createDataFile(dir: string, name: string, data: Uint8Array, canRead: boolean, canWrite: boolean): void;
}
interface Dcm2niixModule { FS: EmscriptenFS; callMain(args: string[]): number }
type Factory = (opts: {
  print: (s: string) => void;
  printErr: (s: string) => void;
  instantiateWasm: (imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance) => unknown) => Promise<unknown>;
}) => Promise<Dcm2niixModule>;

export interface ConvertRequest {
  /** `path` as the package's worker gets it (webkitRelativePath or name); '/' becomes '_'. */
  files: { path: string; bytes: Uint8Array }[];
  args: string[];
}
export type ConvertReply =
  | { files: { name: string; bytes: Uint8Array<ArrayBuffer> }[]; exitCode: number; log: string[] }
  | { error: string; log: string[] };

const port = parentPort;
if (!port) throw new Error('dcm2niix-worker.ts runs as a worker thread');
// The package's exports map only offers its index; the Emscripten module sits beside it, untyped.
const index = import.meta.resolve('@niivue/dcm2niix');
const factory = ((await import(new URL('./dcm2niix.jpeg.js', index).href)) as { default: Factory }).default;
const wasm = await WebAssembly.compile(readFileSync(new URL('./dcm2niix.jpeg.wasm', index)));

port.on('message', async (req: ConvertRequest) => {
  const log: string[] = [];
  try {
    // A new instance for every conversion, as the app gets: its load worker cannot convert twice
    // with one instance (worker.jpeg.js creates /input again and fails), and dcm2niix's state after
    // a damaged series would otherwise slow or break the next case.
    const mod = await factory({
      print: (s) => log.push(s),
      printErr: (s) => log.push(s),
      instantiateWasm: async (imports, receive) => receive(await WebAssembly.instantiate(wasm, imports)),
    });
    mod.FS.mkdir('/input');
    mod.FS.mkdir('/output');
    for (const f of req.files) mod.FS.createDataFile('/input', f.path.split('/').join('_'), f.bytes, true, true);
    const exitCode = mod.callMain(['-o', '/output', ...req.args, '/input']);
    const files = mod.FS.readdir('/output').filter((n) => !n.startsWith('.')).map((name) => ({ name, bytes: mod.FS.readFile(`/output/${name}`) }));
    port.postMessage({ files, exitCode, log } satisfies ConvertReply);
  } catch (e) {
    // dcm2niix aborted (a trap or a failed assertion), which the package's worker reports as an error.
    port.postMessage({ error: e instanceof Error ? e.message : String(e), log } satisfies ConvertReply);
  }
  // Emscripten's exit() sets the exit code; dcm2niix exits non-zero for what it cannot convert.
  process.exitCode = 0;
});
port.postMessage('ready');
