/**
 * @niivue/dcm2niix's WebAssembly build (the JPEG one the page loads) in node, run as the package's
 * own Web Worker runs it: the files written to /input, `dcm2niix -o /output <args> /input`, every
 * file of /output returned with the exit code. Node only: `qumri adapt`'s dcm2niix thread
 * (src/cli/dcm2niix-thread.ts) and the DICOM tests' stand-in for the package (fuzz/) run it.
 */
import { readFileSync } from 'node:fs';

interface EmscriptenFS {
  mkdir(path: string): void;
  readdir(path: string): string[];
  readFile(path: string): Uint8Array<ArrayBuffer>;
  createDataFile(dir: string, name: string, data: Uint8Array, canRead: boolean, canWrite: boolean): void;
}
export interface Dcm2niixModule {
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

/** An input file; `path` as the package's worker gets it (webkitRelativePath or name), '/' becoming '_'. */
export interface Dcm2niixInput {
  path: string;
  bytes: Uint8Array;
}
export interface Dcm2niixOutput {
  files: { name: string; bytes: Uint8Array<ArrayBuffer> }[];
  exitCode: number;
}

/** Makes Emscripten instances of dcm2niix, each printing its log to `log`; the WebAssembly is compiled once. */
export async function dcm2niixInstances(): Promise<(log: (s: string) => void) => Promise<Dcm2niixModule>> {
  // The package's exports map only offers its index; the Emscripten module sits beside it, untyped.
  const index = import.meta.resolve('@niivue/dcm2niix');
  const factory = ((await import(new URL('./dcm2niix.jpeg.js', index).href)) as { default: Factory }).default;
  const wasm = await WebAssembly.compile(readFileSync(new URL('./dcm2niix.jpeg.wasm', index)));
  return (log) =>
    factory({
      print: log,
      printErr: log,
      instantiateWasm: async (imports, receive) => receive(await WebAssembly.instantiate(wasm, imports)),
    });
}

/**
 * One conversion on `mod`. A second on the same instance throws (/input exists already), as it
 * does in the package's worker. Emscripten's exit() sets process.exitCode, which dcm2niix makes
 * non-zero for what it cannot convert: the caller's thread resets it.
 */
export function runDcm2niix(mod: Dcm2niixModule, files: Dcm2niixInput[], args: string[]): Dcm2niixOutput {
  mod.FS.mkdir('/input');
  mod.FS.mkdir('/output');
  for (const f of files) mod.FS.createDataFile('/input', f.path.split('/').join('_'), f.bytes, true, true);
  const exitCode = mod.callMain(['-o', '/output', ...args, '/input']);
  const out = mod.FS.readdir('/output')
    .filter((n) => !n.startsWith('.'))
    .map((name) => ({ name, bytes: mod.FS.readFile(`/output/${name}`) }));
  return { files: out, exitCode };
}
