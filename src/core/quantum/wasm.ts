/**
 * Loads the AssemblyScript kernel (kernel/build/kernel.wasm) and wraps it as an Engine: lays the
 * batch's buffers out in the kernel's linear memory (growing it as needed) and evaluates the whole
 * batch in one call, so there is no per-sample JS↔WASM overhead.
 */
import { MAX_QUBITS, type Readout } from '../../../kernel/assembly/codes.ts';
import { type AdjointResult, type Engine, type PackedProgram, outputsPerSample } from './engine.ts';

interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  forward(
    n: number,
    ops: number,
    nOps: number,
    angles: number,
    nSlots: number,
    batch: number,
    init: number,
    readout: number,
    out: number,
    psi: number,
  ): void;
  adjoint(
    n: number,
    ops: number,
    nOps: number,
    angles: number,
    nSlots: number,
    batch: number,
    init: number,
    readout: number,
    out: number,
    outGrad: number,
    gradAngles: number,
    gradInit: number,
    phi: number,
    lam: number,
  ): void;
}

const PAGE = 65536;
const MAX_BYTES = 4 * 1024 ** 3;
const align = (v: number): number => Math.ceil(v / 16) * 16;

/** Assigns 16-byte-aligned offsets to named byte sizes, starting at base. */
function layout<K extends string>(base: number, sizes: Record<K, number>): { at: Record<K, number>; end: number } {
  let p = align(base);
  const at = {} as Record<K, number>;
  for (const k of Object.keys(sizes) as K[]) {
    at[k] = p;
    p = align(p + sizes[k]);
  }
  return { at, end: p };
}

/** Reads the kernel bytes (node: from disk; browser: fetch). */
async function kernelBytes(source: URL | string): Promise<ArrayBuffer | Uint8Array> {
  const url =
    source instanceof URL
      ? source
      : new URL(source, typeof location !== 'undefined' ? location.href : `file://${process.cwd()}/`);
  if (url.protocol === 'file:') {
    const fsName = 'node:fs/promises';
    const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
    try {
      return await fs.readFile(url);
    } catch (err) {
      throw new Error(
        `cannot read the quantum kernel at ${url.pathname} (run \`npm run build:kernel\`): ${(err as Error).message}`,
      );
    }
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot fetch the quantum kernel from ${url.href}: HTTP ${res.status}`);
  return res.arrayBuffer();
}

/** Instantiates the kernel; default source: kernel/build/kernel.wasm next to this repository's sources. */
export async function loadWasmEngine(source?: BufferSource | URL | string): Promise<Engine> {
  const bytes =
    source === undefined || typeof source === 'string' || source instanceof URL
      ? await kernelBytes(source ?? new URL('../../../kernel/build/kernel.wasm', import.meta.url))
      : source;
  const { instance } = await WebAssembly.instantiate(bytes as BufferSource, {});
  return wasmEngine(instance.exports as unknown as KernelExports);
}

function wasmEngine(k: KernelExports): Engine {
  const base = k.heapBase();

  /** Makes room for `end` bytes of linear memory. */
  const reserve = (end: number): void => {
    if (end > MAX_BYTES)
      throw new Error(
        `the kernel needs ${(end / 2 ** 20).toFixed(0)} MiB, above the 4 GiB WASM limit: use a smaller batch or fewer qubits`,
      );
    const have = k.memory.buffer.byteLength;
    if (end > have) k.memory.grow(Math.ceil((end - have) / PAGE));
  };

  const check = (p: PackedProgram, angles: Float64Array, batch: number, init: Float64Array | null): void => {
    if (p.nQubits < 1 || p.nQubits > MAX_QUBITS) throw new Error(`n_qubits ${p.nQubits} outside 1..${MAX_QUBITS}`);
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch ${batch} must be a positive integer`);
    if (angles.length !== batch * p.nSlots)
      throw new Error(`angles: expected ${batch * p.nSlots} values, got ${angles.length}`);
    if (init && init.length !== batch * 2 ** (p.nQubits + 1))
      throw new Error(`init: expected ${batch * 2 ** (p.nQubits + 1)} values, got ${init.length}`);
  };

  const common = (p: PackedProgram, angles: Float64Array, batch: number, init: Float64Array | null, nOut: number) => ({
    ops: p.code.byteLength,
    angles: angles.byteLength,
    init: init ? init.byteLength : 0,
    out: batch * nOut * 8,
    state: 16 * 2 ** p.nQubits,
  });

  const write = (at: number, data: Int32Array | Float64Array): void => {
    new Uint8Array(k.memory.buffer, at, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
  };
  const read = (at: number, length: number): Float64Array =>
    new Float64Array(k.memory.buffer.slice(at, at + 8 * length));

  return {
    name: 'wasm',
    forward(p, angles, batch, init, readout: Readout) {
      check(p, angles, batch, init);
      const nOut = outputsPerSample(readout, p.nQubits);
      const { at, end } = layout(base, common(p, angles, batch, init, nOut));
      reserve(end);
      write(at.ops, p.code);
      write(at.angles, angles);
      if (init) write(at.init, init);
      k.forward(p.nQubits, at.ops, p.nOps, at.angles, p.nSlots, batch, init ? at.init : 0, readout, at.out, at.state);
      return read(at.out, batch * nOut);
    },
    adjoint(p, angles, batch, init, readout: Readout, outGrad): AdjointResult {
      check(p, angles, batch, init);
      const nOut = outputsPerSample(readout, p.nQubits);
      if (outGrad.length !== batch * nOut)
        throw new Error(`outGrad: expected ${batch * nOut} values, got ${outGrad.length}`);
      const sizes = {
        ...common(p, angles, batch, init, nOut),
        outGrad: outGrad.byteLength,
        gradAngles: angles.byteLength,
        gradInit: init ? init.byteLength : 0,
        lam: 16 * 2 ** p.nQubits,
      };
      const { at, end } = layout(base, sizes);
      reserve(end);
      write(at.ops, p.code);
      write(at.angles, angles);
      write(at.outGrad, outGrad);
      if (init) write(at.init, init);
      k.adjoint(
        p.nQubits,
        at.ops,
        p.nOps,
        at.angles,
        p.nSlots,
        batch,
        init ? at.init : 0,
        readout,
        at.out,
        at.outGrad,
        at.gradAngles,
        init ? at.gradInit : 0,
        at.state,
        at.lam,
      );
      return {
        out: read(at.out, batch * nOut),
        gradAngles: read(at.gradAngles, angles.length),
        gradInit: init ? read(at.gradInit, init.length) : null,
      };
    },
  };
}
