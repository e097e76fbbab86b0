/**
 * QuMRI statevector kernel: exported entry points. The host (src/core/quantum/wasm.ts) lays out
 * every buffer in linear memory above heapBase() (growing memory itself) and evaluates a whole
 * batch per call: a program of ops (codes.ts) whose angles come per sample from `angles`
 * (batch × nSlots float64), an optional initial state per sample (batch × 2^n complex128),
 * and a readout. See kernel/README.md for the layout and the algorithms.
 */
import { INVERSE_FLAG, OP_WORDS, Gate } from './codes';
import { applyGate, parameterGradient, gateRZ, gateRY } from './gates';
import { outputCount, readState, seedAdjoint } from './readout';

/**
 * First 16-byte-aligned address the host may use; everything above it belongs to the host.
 * Call once per instance: it claims the end of the static data (the stub runtime's bump pointer).
 */
export function heapBase(): usize {
  return (heap.alloc(16) + 15) & ~(<usize>15);
}

function prepare(psi: usize, n: i32, init: usize, sample: i32): void {
  const bytes = (<usize>1 << n) << 4;
  if (init == 0) {
    memory.fill(psi, 0, bytes);
    store<f64>(psi, 1.0);
  } else {
    memory.copy(psi, init + <usize>sample * bytes, bytes);
  }
}

function runOps(psi: usize, n: i32, ops: usize, nOps: i32, angles: usize): void {
  for (let i = 0; i < nOps; i++) {
    const op = ops + (<usize>(i * OP_WORDS) << 2);
    const word = load<i32>(op);
    const slot = load<i32>(op, 12);
    applyGate(psi, 0, n, word & (INVERSE_FLAG - 1), load<i32>(op, 4), load<i32>(op, 8),
      angles + (<usize>(slot < 0 ? 0 : slot) << 3), (word & INVERSE_FLAG) != 0);
  }
}

/** Evaluates `batch` samples: out[b·nOut…] = readout of ops(angles[b]) applied to init[b] (or |0…0⟩). */
export function forward(
  n: i32, ops: usize, nOps: i32, angles: usize, nSlots: i32, batch: i32,
  init: usize, readout: i32, out: usize, psi: usize,
): void {
  const nOut = outputCount(readout, n);
  for (let b = 0; b < batch; b++) {
    prepare(psi, n, init, b);
    runOps(psi, n, ops, nOps, angles + (<usize>(b * nSlots) << 3));
    readState(psi, n, readout, out + (<usize>(b * nOut) << 3));
  }
}

/**
 * Forward plus adjoint-method gradients (Jones & Gacon, arXiv:2009.02823) of
 * L_b = Σ_k outGrad[b,k]·out[b,k]: gradAngles[b, slot] = dL_b/dangle and, when init ≠ 0,
 * gradInit[b] = the adjoint state λ at the input, so dL/dRe ψ0 = 2·Re λ and dL/dIm ψ0 = 2·Im λ.
 * The ops must not be inverted (INVERSE_FLAG) and each slot must feed one op.
 */
export function adjoint(
  n: i32, ops: usize, nOps: i32, angles: usize, nSlots: i32, batch: i32,
  init: usize, readout: i32, out: usize, outGrad: usize, gradAngles: usize, gradInit: usize,
  phi: usize, lam: usize,
): void {
  const nOut = outputCount(readout, n);
  const bytes = (<usize>1 << n) << 4;
  for (let b = 0; b < batch; b++) {
    const ang = angles + (<usize>(b * nSlots) << 3);
    const grad = gradAngles + (<usize>(b * nSlots) << 3);
    memory.fill(grad, 0, <usize>nSlots << 3);
    prepare(phi, n, init, b);
    runOps(phi, n, ops, nOps, ang);
    readState(phi, n, readout, out + (<usize>(b * nOut) << 3));
    seedAdjoint(phi, lam, n, readout, outGrad + (<usize>(b * nOut) << 3));
    for (let i = nOps - 1; i >= 0; i--) {
      const op = ops + (<usize>(i * OP_WORDS) << 2);
      const code = load<i32>(op) & (INVERSE_FLAG - 1);
      const q0 = load<i32>(op, 4);
      const q1 = load<i32>(op, 8);
      const slot = load<i32>(op, 12);
      if (code == Gate.ROT) {
        // Rot(φ, θ, ω) = RZ(ω)·RY(θ)·RZ(φ): walk its three factors backwards.
        const a = ang + (<usize>slot << 3);
        const g = grad + (<usize>slot << 3);
        store<f64>(g, parameterGradient(Gate.RZ, lam, phi, n, q0, q1), 16);
        gateRZ(phi, lam, n, q0, load<f64>(a, 16), true);
        store<f64>(g, parameterGradient(Gate.RY, lam, phi, n, q0, q1), 8);
        gateRY(phi, lam, n, q0, load<f64>(a, 8), true);
        store<f64>(g, parameterGradient(Gate.RZ, lam, phi, n, q0, q1));
        gateRZ(phi, lam, n, q0, load<f64>(a), true);
        continue;
      }
      const a = ang + (<usize>(slot < 0 ? 0 : slot) << 3);
      if (slot >= 0) store<f64>(grad + (<usize>slot << 3), parameterGradient(code, lam, phi, n, q0, q1));
      applyGate(phi, lam, n, code, q0, q1, a, true);
    }
    if (init != 0) memory.copy(gradInit + <usize>b * bytes, lam, bytes);
  }
}
