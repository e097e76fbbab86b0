/**
 * Codes shared by the AssemblyScript kernel and the TypeScript API (this file is valid in both
 * languages): gate and readout numbers, the op record layout and the kernel's qubit limit.
 */

/** Gate codes; src/core/quantum/gates.ts maps each to its name, arity, parameters and matrix. */
export enum Gate {
  H = 0,
  X = 1,
  Y = 2,
  Z = 3,
  S = 4,
  T = 5,
  RX = 6,
  RY = 7,
  RZ = 8,
  P = 9,
  ROT = 10,
  CX = 11,
  CZ = 12,
  SWAP = 13,
  ZZ = 14,
}

/** Readout codes; STATE (the raw amplitudes) is internal, used by tests and the page's state view. */
export enum Readout {
  Z = 0,
  X = 1,
  XZ = 2,
  PARITY = 3,
  PROBS = 4,
  STATE = 5,
}

/** An op is OP_WORDS int32 words: code | (INVERSE_FLAG if adjoint), qubit 0, qubit 1, first angle slot (−1: none). */
export const OP_WORDS = 4;
export const INVERSE_FLAG = 256;

/** Largest register the kernel accepts: 2^24 complex128 amplitudes = 256 MiB per state vector. */
export const MAX_QUBITS = 24;
