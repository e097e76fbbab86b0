/**
 * The engine contract shared by the WASM kernel (wasm.ts) and the plain-TypeScript reference
 * (reference.ts): both run a packed program over a whole batch in one call, forward or with
 * adjoint gradients per angle slot. Everything circuit-specific lives above this line.
 */
import { INVERSE_FLAG, OP_WORDS, Readout } from '../../../kernel/assembly/codes.ts';
import type { ProgramOp } from './builder.ts';

/** A program as the kernel reads it: OP_WORDS int32 per op. */
export interface PackedProgram {
  nQubits: number;
  code: Int32Array;
  nOps: number;
  /** float64 angles per sample. */
  nSlots: number;
}

export interface AdjointResult {
  out: Float64Array;
  /** dL_b/dangle, batch × nSlots. */
  gradAngles: Float64Array;
  /** The adjoint state at the input (batch × 2^n complex, interleaved) when an initial state was given. */
  gradInit: Float64Array | null;
}

export interface Engine {
  readonly name: string;
  /** Readout of every sample: batch × outputsPerSample(readout). `init`: batch × 2^n complex, or null for |0…0⟩. */
  forward(
    p: PackedProgram,
    angles: Float64Array,
    batch: number,
    init: Float64Array | null,
    readout: Readout,
  ): Float64Array;
  /** Forward plus the adjoint pass for L_b = Σ_k outGrad[b,k]·out[b,k]. */
  adjoint(
    p: PackedProgram,
    angles: Float64Array,
    batch: number,
    init: Float64Array | null,
    readout: Readout,
    outGrad: Float64Array,
  ): AdjointResult;
}

/** Outputs per sample of a readout code (STATE: 2^n interleaved complex amplitudes). */
export function outputsPerSample(readout: Readout, n: number): number {
  switch (readout) {
    case Readout.Z:
    case Readout.X:
      return n;
    case Readout.XZ:
      return 2 * n;
    case Readout.PARITY:
      return 1;
    case Readout.PROBS:
      return 2 ** n;
    case Readout.STATE:
      return 2 ** (n + 1);
  }
}

/** Packs ops into the kernel's int32 layout; `inverse` marks ops to be applied as U†. */
export function packOps(
  nQubits: number,
  ops: readonly (ProgramOp & { inverse?: boolean })[],
  nSlots: number,
): PackedProgram {
  const code = new Int32Array(ops.length * OP_WORDS);
  ops.forEach((op, i) => {
    code[i * OP_WORDS] = op.gate | (op.inverse ? INVERSE_FLAG : 0);
    code[i * OP_WORDS + 1] = op.qubits[0];
    code[i * OP_WORDS + 2] = op.qubits[1];
    code[i * OP_WORDS + 3] = op.slot;
  });
  return { nQubits, code, nOps: ops.length, nSlots };
}
