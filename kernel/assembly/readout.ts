/**
 * Readouts of a final state (expectations, probabilities, amplitudes) and the adjoint seed
 * λ = H_w·φ for the observable H_w = Σ_k w_k·O_k whose expectation is the loss L = Σ_k w_k⟨O_k⟩.
 */
import { Readout } from './codes';
import { sumPairs } from './loops';

/** |a0|² − |a1|² (self-pairs: lam = phi). */
@final class ZDiff {
  @inline term(l0: usize, l1: usize, f0: usize, f1: usize): v128 {
    const a0 = v128.load(l0);
    const a1 = v128.load(l1);
    return f64x2.sub(f64x2.mul(a0, a0), f64x2.mul(a1, a1));
  }
}

/** a0·a1 lane-wise; Re(a0*·a1) = lane0 + lane1. */
@final class XCross {
  @inline term(l0: usize, l1: usize, f0: usize, f1: usize): v128 {
    return f64x2.mul(v128.load(l0), v128.load(f1));
  }
}

const ZD = new ZDiff();
const XC = new XCross();

/** Number of outputs of a readout for n qubits. */
export function outputCount(readout: i32, n: i32): i32 {
  switch (readout) {
    case Readout.Z: return n;
    case Readout.X: return n;
    case Readout.XZ: return 2 * n;
    case Readout.PARITY: return 1;
    case Readout.PROBS: return 1 << n;
    case Readout.STATE: return 2 << n;
    default: unreachable();
  }
  return 0;
}

@inline function expZ(psi: usize, n: i32, q: i32): f64 {
  const v = sumPairs<ZDiff>(ZD, psi, psi, n, q);
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

@inline function expX(psi: usize, n: i32, q: i32): f64 {
  const v = sumPairs<XCross>(XC, psi, psi, n, q);
  return 2.0 * (f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1));
}

@inline function prob(psi: usize, k: i32): f64 {
  const a = v128.load(psi + (<usize>k << 4));
  const s = f64x2.mul(a, a);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

/** Writes the readout of state psi to out[0..outputCount). */
export function readState(psi: usize, n: i32, readout: i32, out: usize): void {
  const dim = 1 << n;
  if (readout == Readout.Z || readout == Readout.XZ) {
    const base = readout == Readout.XZ ? n : 0;
    for (let q = 0; q < n; q++) store<f64>(out + (<usize>(base + q) << 3), expZ(psi, n, q));
  }
  if (readout == Readout.X || readout == Readout.XZ) {
    for (let q = 0; q < n; q++) store<f64>(out + (<usize>q << 3), expX(psi, n, q));
  }
  if (readout == Readout.PARITY) {
    let even = 0.0;
    let odd = 0.0;
    for (let k = 0; k < dim; k++) {
      if (popcnt<i32>(k) & 1) odd += prob(psi, k); else even += prob(psi, k);
    }
    store<f64>(out, even - odd);
  }
  if (readout == Readout.PROBS) {
    for (let k = 0; k < dim; k++) store<f64>(out + (<usize>k << 3), prob(psi, k));
  }
  if (readout == Readout.STATE) {
    memory.copy(out, psi, <usize>dim << 4);
  }
}

/** λ = H_w·φ with H_w = Σ_k w[k]·O_k for the readout's observables O_k (w at `weights`). */
export function seedAdjoint(phi: usize, lam: usize, n: i32, readout: i32, weights: usize): void {
  const dim = 1 << n;
  const bytes = <usize>dim << 4;
  const zBase = readout == Readout.XZ ? n : 0;
  const hasZ = readout == Readout.Z || readout == Readout.XZ;
  const hasX = readout == Readout.X || readout == Readout.XZ;
  if (readout == Readout.STATE) unreachable();
  for (let k = 0; k < dim; k++) {
    let d = 0.0;
    if (hasZ) {
      for (let q = 0; q < n; q++) {
        const w = load<f64>(weights + (<usize>(zBase + q) << 3));
        d += (k >> q) & 1 ? -w : w;
      }
    } else if (readout == Readout.PARITY) {
      const w = load<f64>(weights);
      d = popcnt<i32>(k) & 1 ? -w : w;
    } else if (readout == Readout.PROBS) {
      d = load<f64>(weights + (<usize>k << 3));
    }
    const o = <usize>k << 4;
    v128.store(lam + o, f64x2.mul(f64x2.splat(d), v128.load(phi + o)));
  }
  if (hasX) {
    for (let q = 0; q < n; q++) {
      const w = f64x2.splat(load<f64>(weights + (<usize>q << 3)));
      const off = (<usize>1 << q) << 4;
      for (let block: usize = 0; block < bytes; block += off << 1) {
        for (let o = block; o < block + off; o += 16) {
          v128.store(lam + o, f64x2.add(v128.load(lam + o), f64x2.mul(w, v128.load(phi + o + off))));
          v128.store(lam + o + off, f64x2.add(v128.load(lam + o + off), f64x2.mul(w, v128.load(phi + o))));
        }
      }
    }
  }
}

