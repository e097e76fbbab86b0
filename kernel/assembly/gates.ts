/**
 * One function per gate (PennyLane-lightning style): each computes its coefficients, honours the
 * `inverse` flag by conjugate-transposing them, and hands a core to a shared loop (loops.ts).
 * `applyGate` is the dispatch table; `generatorTerm` gives, for every one-parameter gate,
 * Im⟨λ|G|φ⟩ and the scale s of U(θ) = exp(i·s·θ·G), which the adjoint loop needs.
 * Matrices (qubit q0 = first operand; 2-qubit basis index b(q0) + 2·b(q1)) are listed in
 * src/core/quantum/gates.ts, the table the tests are generated from.
 */
import { Gate } from './codes';
import { ZERO, swap, coefR, coefI, cmul, forPairs, forQuartets, sumPairs, sumQuartets } from './loops';

// ---- one-qubit cores: apply(p0, p1, c0..c7) updates the amplitudes at p0 (bit 0) and p1 (bit 1)

/** General complex 2×2: c0..c7 = (R, I) of m00, m01, m10, m11. */
@final class MatrixCore {
  @inline apply(p0: usize, p1: usize, r00: v128, i00: v128, r01: v128, i01: v128, r10: v128, i10: v128, r11: v128, i11: v128): void {
    const a0 = v128.load(p0);
    const a1 = v128.load(p1);
    const s0 = swap(a0);
    const s1 = swap(a1);
    v128.store(p0, f64x2.add(f64x2.add(f64x2.mul(r00, a0), f64x2.mul(i00, s0)), f64x2.add(f64x2.mul(r01, a1), f64x2.mul(i01, s1))));
    v128.store(p1, f64x2.add(f64x2.add(f64x2.mul(r10, a0), f64x2.mul(i10, s0)), f64x2.add(f64x2.mul(r11, a1), f64x2.mul(i11, s1))));
  }
}

/** Real 2×2: c0..c3 = splat(m00), splat(m01), splat(m10), splat(m11). */
@final class RealCore {
  @inline apply(p0: usize, p1: usize, m00: v128, m01: v128, m10: v128, m11: v128, c4: v128, c5: v128, c6: v128, c7: v128): void {
    const a0 = v128.load(p0);
    const a1 = v128.load(p1);
    v128.store(p0, f64x2.add(f64x2.mul(m00, a0), f64x2.mul(m01, a1)));
    v128.store(p1, f64x2.add(f64x2.mul(m10, a0), f64x2.mul(m11, a1)));
  }
}

/** RX-shaped [[c, −is], [−is, c]]: c0 = splat(c), c1 = (s, −s); −i·s·a = (s, −s)·swap(a). */
@final class RXCore {
  @inline apply(p0: usize, p1: usize, c: v128, s: v128, c2: v128, c3: v128, c4: v128, c5: v128, c6: v128, c7: v128): void {
    const a0 = v128.load(p0);
    const a1 = v128.load(p1);
    v128.store(p0, f64x2.add(f64x2.mul(c, a0), f64x2.mul(s, swap(a1))));
    v128.store(p1, f64x2.add(f64x2.mul(c, a1), f64x2.mul(s, swap(a0))));
  }
}

/** Diagonal: c0, c1 = (R, I) of d0; c2, c3 = (R, I) of d1. */
@final class DiagCore {
  @inline apply(p0: usize, p1: usize, r0: v128, i0: v128, r1: v128, i1: v128, c4: v128, c5: v128, c6: v128, c7: v128): void {
    v128.store(p0, cmul(r0, i0, v128.load(p0)));
    v128.store(p1, cmul(r1, i1, v128.load(p1)));
  }
}

/** diag(1, d1): c0, c1 = (R, I) of d1. */
@final class PhaseCore {
  @inline apply(p0: usize, p1: usize, r1: v128, i1: v128, c2: v128, c3: v128, c4: v128, c5: v128, c6: v128, c7: v128): void {
    v128.store(p1, cmul(r1, i1, v128.load(p1)));
  }
}

/** Pauli X: exchange the pair. */
@final class FlipCore {
  @inline apply(p0: usize, p1: usize, c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128, c6: v128, c7: v128): void {
    const a0 = v128.load(p0);
    v128.store(p0, v128.load(p1));
    v128.store(p1, a0);
  }
}

// ---- two-qubit cores: apply(p00, pa, pb, pab, c0, c1); a = q0 (control of CX), b = q1

/** CX(a → b): exchange |a=1,b=0⟩ and |a=1,b=1⟩. */
@final class CXCore {
  @inline apply(p00: usize, pa: usize, pb: usize, pab: usize, c0: v128, c1: v128): void {
    const t = v128.load(pa);
    v128.store(pa, v128.load(pab));
    v128.store(pab, t);
  }
}

/** CZ: negate |11⟩. */
@final class CZCore {
  @inline apply(p00: usize, pa: usize, pb: usize, pab: usize, c0: v128, c1: v128): void {
    v128.store(pab, f64x2.neg(v128.load(pab)));
  }
}

/** SWAP: exchange |a=1,b=0⟩ and |a=0,b=1⟩. */
@final class SwapCore {
  @inline apply(p00: usize, pa: usize, pb: usize, pab: usize, c0: v128, c1: v128): void {
    const t = v128.load(pa);
    v128.store(pa, v128.load(pb));
    v128.store(pb, t);
  }
}

/** ZZ phase diag(1, e^{iθ}, e^{iθ}, 1): c0, c1 = (R, I) of e^{iθ} on the odd-parity corners. */
@final class OddPhaseCore {
  @inline apply(p00: usize, pa: usize, pb: usize, pab: usize, r: v128, i: v128): void {
    v128.store(pa, cmul(r, i, v128.load(pa)));
    v128.store(pb, cmul(r, i, v128.load(pb)));
  }
}

const MATRIX = new MatrixCore();
const REAL = new RealCore();
const RXC = new RXCore();
const DIAG = new DiagCore();
const PHASE = new PhaseCore();
const FLIP = new FlipCore();
const CXC = new CXCore();
const CZC = new CZCore();
const SWAPC = new SwapCore();
const ODD = new OddPhaseCore();

// ---- gates

function sign(inverse: bool): f64 {
  return inverse ? -1.0 : 1.0;
}

function phaseGate(psi: usize, psi2: usize, n: i32, t: i32, lambda: f64): void {
  forPairs<PhaseCore>(PHASE, psi, psi2, n, t, coefR(Math.cos(lambda)), coefI(Math.sin(lambda)), ZERO, ZERO, ZERO, ZERO, ZERO, ZERO);
}

export function gateH(psi: usize, psi2: usize, n: i32, t: i32): void {
  const r = f64x2.splat(Math.SQRT1_2);
  forPairs<RealCore>(REAL, psi, psi2, n, t, r, r, r, f64x2.neg(r), ZERO, ZERO, ZERO, ZERO);
}

export function gateX(psi: usize, psi2: usize, n: i32, t: i32): void {
  forPairs<FlipCore>(FLIP, psi, psi2, n, t, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO);
}

export function gateY(psi: usize, psi2: usize, n: i32, t: i32): void {
  // [[0, −i], [i, 0]]
  forPairs<MatrixCore>(MATRIX, psi, psi2, n, t, ZERO, ZERO, ZERO, coefI(-1.0), ZERO, coefI(1.0), ZERO, ZERO);
}

export function gateZ(psi: usize, psi2: usize, n: i32, t: i32): void {
  forPairs<PhaseCore>(PHASE, psi, psi2, n, t, coefR(-1.0), ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO);
}

export function gateS(psi: usize, psi2: usize, n: i32, t: i32, inverse: bool): void {
  phaseGate(psi, psi2, n, t, sign(inverse) * Math.PI / 2);
}

export function gateT(psi: usize, psi2: usize, n: i32, t: i32, inverse: bool): void {
  phaseGate(psi, psi2, n, t, sign(inverse) * Math.PI / 4);
}

export function gateRX(psi: usize, psi2: usize, n: i32, t: i32, theta: f64, inverse: bool): void {
  const h = sign(inverse) * theta / 2;
  const s = Math.sin(h);
  forPairs<RXCore>(RXC, psi, psi2, n, t, f64x2.splat(Math.cos(h)), f64x2(s, -s), ZERO, ZERO, ZERO, ZERO, ZERO, ZERO);
}

export function gateRY(psi: usize, psi2: usize, n: i32, t: i32, theta: f64, inverse: bool): void {
  const h = sign(inverse) * theta / 2;
  const c = f64x2.splat(Math.cos(h));
  const s = Math.sin(h);
  forPairs<RealCore>(REAL, psi, psi2, n, t, c, f64x2.splat(-s), f64x2.splat(s), c, ZERO, ZERO, ZERO, ZERO);
}

export function gateRZ(psi: usize, psi2: usize, n: i32, t: i32, theta: f64, inverse: bool): void {
  const h = sign(inverse) * theta / 2;
  const c = Math.cos(h);
  const s = Math.sin(h);
  forPairs<DiagCore>(DIAG, psi, psi2, n, t, coefR(c), coefI(-s), coefR(c), coefI(s), ZERO, ZERO, ZERO, ZERO);
}

export function gateP(psi: usize, psi2: usize, n: i32, t: i32, lambda: f64, inverse: bool): void {
  phaseGate(psi, psi2, n, t, sign(inverse) * lambda);
}

/** Rot(φ, θ, ω) = RZ(ω)·RY(θ)·RZ(φ); its adjoint is Rot(−ω, −θ, −φ). */
export function gateRot(psi: usize, psi2: usize, n: i32, t: i32, phi: f64, theta: f64, omega: f64, inverse: bool): void {
  const f = inverse ? -omega : phi;
  const th = inverse ? -theta : theta;
  const w = inverse ? -phi : omega;
  const c = Math.cos(th / 2);
  const s = Math.sin(th / 2);
  const sum = (f + w) / 2;
  const diff = (f - w) / 2;
  // m00 = e^{−i(φ+ω)/2}c, m01 = −e^{i(φ−ω)/2}s, m10 = e^{−i(φ−ω)/2}s, m11 = e^{i(φ+ω)/2}c
  forPairs<MatrixCore>(MATRIX, psi, psi2, n, t,
    coefR(Math.cos(sum) * c), coefI(-Math.sin(sum) * c),
    coefR(-Math.cos(diff) * s), coefI(-Math.sin(diff) * s),
    coefR(Math.cos(diff) * s), coefI(-Math.sin(diff) * s),
    coefR(Math.cos(sum) * c), coefI(Math.sin(sum) * c));
}

export function gateCX(psi: usize, psi2: usize, n: i32, control: i32, target: i32): void {
  forQuartets<CXCore>(CXC, psi, psi2, n, control, target, ZERO, ZERO);
}

export function gateCZ(psi: usize, psi2: usize, n: i32, a: i32, b: i32): void {
  forQuartets<CZCore>(CZC, psi, psi2, n, a, b, ZERO, ZERO);
}

export function gateSWAP(psi: usize, psi2: usize, n: i32, a: i32, b: i32): void {
  forQuartets<SwapCore>(SWAPC, psi, psi2, n, a, b, ZERO, ZERO);
}

/** ZZ(θ) = diag(1, e^{iθ}, e^{iθ}, 1) = CX(a→b)·P(θ) on b·CX(a→b), the ZZFeatureMap pair block. */
export function gateZZ(psi: usize, psi2: usize, n: i32, a: i32, b: i32, theta: f64, inverse: bool): void {
  const l = sign(inverse) * theta;
  forQuartets<OddPhaseCore>(ODD, psi, psi2, n, a, b, coefR(Math.cos(l)), coefI(Math.sin(l)));
}

/** Applies gate `code` (or its adjoint) with parameters read from angles[0..] to psi and, if psi2 ≠ 0, to psi2. */
export function applyGate(psi: usize, psi2: usize, n: i32, code: i32, q0: i32, q1: i32, angles: usize, inverse: bool): void {
  switch (code) {
    case Gate.H: gateH(psi, psi2, n, q0); break;
    case Gate.X: gateX(psi, psi2, n, q0); break;
    case Gate.Y: gateY(psi, psi2, n, q0); break;
    case Gate.Z: gateZ(psi, psi2, n, q0); break;
    case Gate.S: gateS(psi, psi2, n, q0, inverse); break;
    case Gate.T: gateT(psi, psi2, n, q0, inverse); break;
    case Gate.RX: gateRX(psi, psi2, n, q0, load<f64>(angles), inverse); break;
    case Gate.RY: gateRY(psi, psi2, n, q0, load<f64>(angles), inverse); break;
    case Gate.RZ: gateRZ(psi, psi2, n, q0, load<f64>(angles), inverse); break;
    case Gate.P: gateP(psi, psi2, n, q0, load<f64>(angles), inverse); break;
    case Gate.ROT: gateRot(psi, psi2, n, q0, load<f64>(angles), load<f64>(angles, 8), load<f64>(angles, 16), inverse); break;
    case Gate.CX: gateCX(psi, psi2, n, q0, q1); break;
    case Gate.CZ: gateCZ(psi, psi2, n, q0, q1); break;
    case Gate.SWAP: gateSWAP(psi, psi2, n, q0, q1); break;
    case Gate.ZZ: gateZZ(psi, psi2, n, q0, q1, load<f64>(angles), inverse); break;
    default: unreachable();
  }
}

// ---- generators: reductions Σ term(λ, φ) whose lanes combine into Im⟨λ|G|φ⟩

/** G = X: λ0·swap(φ1) + λ1·swap(φ0); Im = lane0 − lane1. */
@final class XTerm {
  @inline term(l0: usize, l1: usize, f0: usize, f1: usize): v128 {
    return f64x2.add(f64x2.mul(v128.load(l0), swap(v128.load(f1))), f64x2.mul(v128.load(l1), swap(v128.load(f0))));
  }
}

/** G = Y: λ1·φ0 − λ0·φ1; Im⟨λ|Y|φ⟩ = Re(λ1*φ0) − Re(λ0*φ1) = lane0 + lane1. */
@final class YTerm {
  @inline term(l0: usize, l1: usize, f0: usize, f1: usize): v128 {
    return f64x2.sub(f64x2.mul(v128.load(l1), v128.load(f0)), f64x2.mul(v128.load(l0), v128.load(f1)));
  }
}

/** G = Z: λ0·swap(φ0) − λ1·swap(φ1); Im = lane0 − lane1. */
@final class ZTerm {
  @inline term(l0: usize, l1: usize, f0: usize, f1: usize): v128 {
    return f64x2.sub(f64x2.mul(v128.load(l0), swap(v128.load(f0))), f64x2.mul(v128.load(l1), swap(v128.load(f1))));
  }
}

/** G = |1⟩⟨1| (on one qubit) or the odd-parity projector (on the two corners): λ1·swap(φ1) summed; Im = lane0 − lane1. */
@final class ProjTerm {
  @inline term(l0: usize, l1: usize, f0: usize, f1: usize): v128 {
    return f64x2.add(f64x2.mul(v128.load(l0), swap(v128.load(f0))), f64x2.mul(v128.load(l1), swap(v128.load(f1))));
  }
}

/** Only the bit-1 half of a pair: the |1⟩⟨1| projector. */
@final class OneTerm {
  @inline term(l0: usize, l1: usize, f0: usize, f1: usize): v128 {
    return f64x2.mul(v128.load(l1), swap(v128.load(f1)));
  }
}

const XT = new XTerm();
const YT = new YTerm();
const ZT = new ZTerm();
const PT = new ProjTerm();
const OT = new OneTerm();

@inline function imLanes(v: v128): f64 {
  return f64x2.extract_lane(v, 0) - f64x2.extract_lane(v, 1);
}

@inline function reLanes(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/**
 * dL/dθ for a one-parameter gate, with φ the state just after it and λ the adjoint state there:
 * U = exp(i·s·θ·G) gives dL/dθ = 2·Re⟨λ|i·s·G|φ⟩ = −2·s·Im⟨λ|G|φ⟩ (arXiv:2009.02823).
 * `code` is RX, RY, RZ (s = −1/2), P or ZZ (s = 1).
 */
export function parameterGradient(code: i32, lam: usize, phi: usize, n: i32, q0: i32, q1: i32): f64 {
  switch (code) {
    case Gate.RX: return imLanes(sumPairs<XTerm>(XT, lam, phi, n, q0));
    case Gate.RY: return reLanes(sumPairs<YTerm>(YT, lam, phi, n, q0));
    case Gate.RZ: return imLanes(sumPairs<ZTerm>(ZT, lam, phi, n, q0));
    case Gate.P: return -2.0 * imLanes(sumPairs<OneTerm>(OT, lam, phi, n, q0));
    case Gate.ZZ: return -2.0 * imLanes(sumQuartets<ProjTerm>(PT, lam, phi, n, q0, q1));
    default: unreachable();
  }
  return 0.0;
}
