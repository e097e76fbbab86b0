/**
 * The kernel's algorithm in plain TypeScript (scalar Float64Array code, no SIMD): the baseline of
 * `npm run bench:kernel` and a second, independent implementation the tests compare the WASM
 * kernel with. Same layout (interleaved complex128, qubit q = bit q), same index loops, same
 * adjoint method.
 */
import { Gate, INVERSE_FLAG, OP_WORDS, Readout } from '../../../kernel/assembly/codes.ts';
import { type AdjointResult, type Engine, type PackedProgram, outputsPerSample } from './engine.ts';

type State = Float64Array;

/** Real 2×2 [[a, b], [c, d]] on every pair on bit t (H, RY, X, Z: the kernel's real core). */
function apply1Real(s: State, n: number, t: number, a: number, b: number, c: number, d: number): void {
  const dim = 1 << n;
  const half = 1 << t;
  for (let base = 0; base < dim; base += half << 1) {
    const end = 2 * (base + half);
    const off = 2 * half;
    for (let i = 2 * base; i < end; i++) {
      const x = s[i];
      const y = s[i + off];
      s[i] = a * x + b * y;
      s[i + off] = c * x + d * y;
    }
  }
}

/** Applies the 2×2 matrix [[a, b], [c, d]] (complex, as re/im pairs) to every pair on bit t. */
function apply1(s: State, n: number, t: number, m: readonly number[]): void {
  const [ar, ai, br, bi, cr, ci, dr, di] = m;
  if (ai === 0 && bi === 0 && ci === 0 && di === 0) return apply1Real(s, n, t, ar, br, cr, dr);
  const dim = 1 << n;
  const half = 1 << t;
  for (let base = 0; base < dim; base += half << 1) {
    for (let k = base; k < base + half; k++) {
      const i0 = 2 * k;
      const i1 = 2 * (k + half);
      const x0 = s[i0],
        y0 = s[i0 + 1],
        x1 = s[i1],
        y1 = s[i1 + 1];
      s[i0] = ar * x0 - ai * y0 + br * x1 - bi * y1;
      s[i0 + 1] = ar * y0 + ai * x0 + br * y1 + bi * x1;
      s[i1] = cr * x0 - ci * y0 + dr * x1 - di * y1;
      s[i1 + 1] = cr * y0 + ci * x0 + dr * y1 + di * x1;
    }
  }
}

/** Calls f(k00, ka, kb, kab) (amplitude indices) for every quartet on bits a, b. */
function forQuartets(
  n: number,
  a: number,
  b: number,
  f: (k: number, ka: number, kb: number, kab: number) => void,
): void {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const dim = 1 << n;
  const sLo = 1 << lo;
  const sHi = 1 << hi;
  const da = 1 << a;
  const db = 1 << b;
  for (let i = 0; i < dim; i += sHi << 1) {
    for (let j = i; j < i + sHi; j += sLo << 1) {
      for (let k = j; k < j + sLo; k++) f(k, k + da, k + db, k + da + db);
    }
  }
}

function cx(s: State, n: number, c: number, t: number): void {
  // the hot two-qubit loop, written out (no callback) as in the kernel
  const lo = Math.min(c, t);
  const hi = Math.max(c, t);
  const dim = 1 << n;
  const sLo = 1 << lo;
  const sHi = 1 << hi;
  const da = 2 << c;
  const dab = da + (2 << t);
  for (let i = 0; i < dim; i += sHi << 1) {
    for (let j = i; j < i + sHi; j += sLo << 1) {
      for (let k = 2 * j; k < 2 * (j + sLo); k += 2) {
        const r = s[k + da],
          m = s[k + da + 1];
        s[k + da] = s[k + dab];
        s[k + da + 1] = s[k + dab + 1];
        s[k + dab] = r;
        s[k + dab + 1] = m;
      }
    }
  }
}

function cz(s: State, n: number, a: number, b: number): void {
  forQuartets(n, a, b, (_k, _ka, _kb, kab) => {
    s[2 * kab] = -s[2 * kab];
    s[2 * kab + 1] = -s[2 * kab + 1];
  });
}

function swapGate(s: State, n: number, a: number, b: number): void {
  forQuartets(n, a, b, (_k, ka, kb) => {
    const r = s[2 * ka],
      i = s[2 * ka + 1];
    s[2 * ka] = s[2 * kb];
    s[2 * ka + 1] = s[2 * kb + 1];
    s[2 * kb] = r;
    s[2 * kb + 1] = i;
  });
}

function zz(s: State, n: number, a: number, b: number, theta: number): void {
  const cr = Math.cos(theta),
    ci = Math.sin(theta);
  const rot = (k: number): void => {
    const r = s[2 * k],
      i = s[2 * k + 1];
    s[2 * k] = cr * r - ci * i;
    s[2 * k + 1] = cr * i + ci * r;
  };
  forQuartets(n, a, b, (_k, ka, kb) => {
    rot(ka);
    rot(kb);
  });
}

/** 2×2 matrix coefficients of a one-qubit gate (or its adjoint), flattened re/im. */
function matrix1(code: Gate, p: readonly number[], inv: boolean): number[] {
  const sg = inv ? -1 : 1;
  const ph = (l: number): number[] => [1, 0, 0, 0, 0, 0, Math.cos(l), Math.sin(l)];
  switch (code) {
    case Gate.H:
      return [Math.SQRT1_2, 0, Math.SQRT1_2, 0, Math.SQRT1_2, 0, -Math.SQRT1_2, 0];
    case Gate.X:
      return [0, 0, 1, 0, 1, 0, 0, 0];
    case Gate.Y:
      return [0, 0, 0, -1, 0, 1, 0, 0];
    case Gate.Z:
      return [1, 0, 0, 0, 0, 0, -1, 0];
    case Gate.S:
      return ph((sg * Math.PI) / 2);
    case Gate.T:
      return ph((sg * Math.PI) / 4);
    case Gate.P:
      return ph(sg * p[0]);
    case Gate.RX: {
      const h = (sg * p[0]) / 2,
        c = Math.cos(h),
        s = Math.sin(h);
      return [c, 0, 0, -s, 0, -s, c, 0];
    }
    case Gate.RY: {
      const h = (sg * p[0]) / 2,
        c = Math.cos(h),
        s = Math.sin(h);
      return [c, 0, -s, 0, s, 0, c, 0];
    }
    case Gate.RZ: {
      const h = (sg * p[0]) / 2,
        c = Math.cos(h),
        s = Math.sin(h);
      return [c, -s, 0, 0, 0, 0, c, s];
    }
    case Gate.ROT: {
      const f = inv ? -p[2] : p[0],
        th = inv ? -p[1] : p[1],
        w = inv ? -p[0] : p[2];
      const c = Math.cos(th / 2),
        s = Math.sin(th / 2),
        sum = (f + w) / 2,
        diff = (f - w) / 2;
      return [
        Math.cos(sum) * c,
        -Math.sin(sum) * c,
        -Math.cos(diff) * s,
        -Math.sin(diff) * s,
        Math.cos(diff) * s,
        -Math.sin(diff) * s,
        Math.cos(sum) * c,
        Math.sin(sum) * c,
      ];
    }
    default:
      throw new Error(`reference: gate code ${code} is not a one-qubit gate`);
  }
}

/** Applies one gate (or its adjoint) to s. */
export function applyGate(
  s: State,
  n: number,
  code: Gate,
  q0: number,
  q1: number,
  p: readonly number[],
  inv: boolean,
): void {
  switch (code) {
    case Gate.CX:
      return cx(s, n, q0, q1);
    case Gate.CZ:
      return cz(s, n, q0, q1);
    case Gate.SWAP:
      return swapGate(s, n, q0, q1);
    case Gate.ZZ:
      return zz(s, n, q0, q1, inv ? -p[0] : p[0]);
    default:
      return apply1(s, n, q0, matrix1(code, p, inv));
  }
}

/** Im⟨λ|G|φ⟩ summed over pairs on bit t, for G given as a 2×2 (re, im) matrix. */
function imExpect1(lam: State, phi: State, n: number, t: number, g: readonly number[]): number {
  const [ar, ai, br, bi, cr, ci, dr, di] = g;
  let acc = 0;
  const dim = 1 << n;
  const half = 1 << t;
  for (let base = 0; base < dim; base += half << 1) {
    for (let k = base; k < base + half; k++) {
      const i0 = 2 * k,
        i1 = 2 * (k + half);
      const x0 = phi[i0],
        y0 = phi[i0 + 1],
        x1 = phi[i1],
        y1 = phi[i1 + 1];
      // (Gφ)0, (Gφ)1
      const u0 = ar * x0 - ai * y0 + br * x1 - bi * y1,
        v0 = ar * y0 + ai * x0 + br * y1 + bi * x1;
      const u1 = cr * x0 - ci * y0 + dr * x1 - di * y1,
        v1 = cr * y0 + ci * x0 + dr * y1 + di * x1;
      acc += lam[i0] * v0 - lam[i0 + 1] * u0 + lam[i1] * v1 - lam[i1 + 1] * u1;
    }
  }
  return acc;
}

const GEN: Partial<Record<Gate, { g: number[]; scale: number }>> = {
  [Gate.RX]: { g: [0, 0, 1, 0, 1, 0, 0, 0], scale: -0.5 },
  [Gate.RY]: { g: [0, 0, 0, -1, 0, 1, 0, 0], scale: -0.5 },
  [Gate.RZ]: { g: [1, 0, 0, 0, 0, 0, -1, 0], scale: -0.5 },
  [Gate.P]: { g: [0, 0, 0, 0, 0, 0, 1, 0], scale: 1 },
};

/** dL/dθ = −2·s·Im⟨λ|G|φ⟩ for U = exp(i·s·θ·G). */
function parameterGradient(code: Gate, lam: State, phi: State, n: number, q0: number, q1: number): number {
  if (code === Gate.ZZ) {
    let acc = 0;
    forQuartets(n, q0, q1, (_k, ka, kb) => {
      acc +=
        lam[2 * ka] * phi[2 * ka + 1] -
        lam[2 * ka + 1] * phi[2 * ka] +
        lam[2 * kb] * phi[2 * kb + 1] -
        lam[2 * kb + 1] * phi[2 * kb];
    });
    return -2 * acc;
  }
  const gen = GEN[code];
  if (!gen) throw new Error(`reference: gate code ${code} has no generator`);
  return -2 * gen.scale * imExpect1(lam, phi, n, q0, gen.g);
}

function readState(s: State, n: number, readout: Readout, out: Float64Array, o: number): void {
  const dim = 1 << n;
  const p = (k: number): number => s[2 * k] * s[2 * k] + s[2 * k + 1] * s[2 * k + 1];
  const expZ = (q: number): number => {
    let a = 0;
    for (let k = 0; k < dim; k++) a += (k >> q) & 1 ? -p(k) : p(k);
    return a;
  };
  const expX = (q: number): number => {
    let a = 0;
    for (let k = 0; k < dim; k++)
      if (!((k >> q) & 1)) {
        const j = k | (1 << q);
        a += s[2 * k] * s[2 * j] + s[2 * k + 1] * s[2 * j + 1];
      }
    return 2 * a;
  };
  switch (readout) {
    case Readout.Z:
      for (let q = 0; q < n; q++) out[o + q] = expZ(q);
      break;
    case Readout.X:
      for (let q = 0; q < n; q++) out[o + q] = expX(q);
      break;
    case Readout.XZ:
      for (let q = 0; q < n; q++) {
        out[o + q] = expX(q);
        out[o + n + q] = expZ(q);
      }
      break;
    case Readout.PARITY: {
      let a = 0;
      for (let k = 0; k < dim; k++) a += popcount(k) & 1 ? -p(k) : p(k);
      out[o] = a;
      break;
    }
    case Readout.PROBS:
      for (let k = 0; k < dim; k++) out[o + k] = p(k);
      break;
    case Readout.STATE:
      out.set(s.subarray(0, 2 * dim), o);
      break;
  }
}

function popcount(k: number): number {
  let c = 0;
  for (let v = k; v; v &= v - 1) c++;
  return c;
}

/** λ = Σ_k w_k·O_k·φ. */
function seedAdjoint(phi: State, n: number, readout: Readout, w: Float64Array, o: number): State {
  const dim = 1 << n;
  const lam = new Float64Array(2 * dim);
  const zBase = readout === Readout.XZ ? n : 0;
  for (let k = 0; k < dim; k++) {
    let d = 0;
    if (readout === Readout.Z || readout === Readout.XZ)
      for (let q = 0; q < n; q++) d += (k >> q) & 1 ? -w[o + zBase + q] : w[o + zBase + q];
    else if (readout === Readout.PARITY) d = popcount(k) & 1 ? -w[o] : w[o];
    else if (readout === Readout.PROBS) d = w[o + k];
    lam[2 * k] = d * phi[2 * k];
    lam[2 * k + 1] = d * phi[2 * k + 1];
  }
  if (readout === Readout.X || readout === Readout.XZ) {
    for (let q = 0; q < n; q++) {
      for (let k = 0; k < dim; k++) {
        const j = k ^ (1 << q);
        lam[2 * k] += w[o + q] * phi[2 * j];
        lam[2 * k + 1] += w[o + q] * phi[2 * j + 1];
      }
    }
  }
  return lam;
}

function prepare(n: number, init: Float64Array | null, b: number): State {
  const dim = 1 << n;
  if (init) return init.slice(2 * dim * b, 2 * dim * (b + 1));
  const s = new Float64Array(2 * dim);
  s[0] = 1;
  return s;
}

function params(code: Gate, angles: Float64Array, base: number, slot: number): number[] {
  if (slot < 0) return [];
  return code === Gate.ROT
    ? [angles[base + slot], angles[base + slot + 1], angles[base + slot + 2]]
    : [angles[base + slot]];
}

function run(p: PackedProgram, s: State, angles: Float64Array, base: number): void {
  for (let i = 0; i < p.nOps; i++) {
    const w = p.code[i * OP_WORDS];
    const code = (w & (INVERSE_FLAG - 1)) as Gate;
    applyGate(
      s,
      p.nQubits,
      code,
      p.code[i * OP_WORDS + 1],
      p.code[i * OP_WORDS + 2],
      params(code, angles, base, p.code[i * OP_WORDS + 3]),
      (w & INVERSE_FLAG) !== 0,
    );
  }
}

/** The plain-TypeScript engine. */
export const referenceEngine: Engine = {
  name: 'typescript',
  forward(p, angles, batch, init, readout) {
    const nOut = outputsPerSample(readout, p.nQubits);
    const out = new Float64Array(batch * nOut);
    for (let b = 0; b < batch; b++) {
      const s = prepare(p.nQubits, init, b);
      run(p, s, angles, b * p.nSlots);
      readState(s, p.nQubits, readout, out, b * nOut);
    }
    return out;
  },
  adjoint(p, angles, batch, init, readout, outGrad): AdjointResult {
    const n = p.nQubits;
    const nOut = outputsPerSample(readout, n);
    const out = new Float64Array(batch * nOut);
    const gradAngles = new Float64Array(batch * p.nSlots);
    const gradInit = init ? new Float64Array(init.length) : null;
    for (let b = 0; b < batch; b++) {
      const base = b * p.nSlots;
      const phi = prepare(n, init, b);
      run(p, phi, angles, base);
      readState(phi, n, readout, out, b * nOut);
      const lam = seedAdjoint(phi, n, readout, outGrad, b * nOut);
      for (let i = p.nOps - 1; i >= 0; i--) {
        const code = (p.code[i * OP_WORDS] & (INVERSE_FLAG - 1)) as Gate;
        const q0 = p.code[i * OP_WORDS + 1],
          q1 = p.code[i * OP_WORDS + 2],
          slot = p.code[i * OP_WORDS + 3];
        if (code === Gate.ROT) {
          // RZ(ω)·RY(θ)·RZ(φ), walked backwards
          const [f, th, w] = params(code, angles, base, slot);
          const steps: [Gate, number, number][] = [
            [Gate.RZ, w, 2],
            [Gate.RY, th, 1],
            [Gate.RZ, f, 0],
          ];
          for (const [g, a, k] of steps) {
            gradAngles[base + slot + k] = parameterGradient(g, lam, phi, n, q0, q1);
            applyGate(phi, n, g, q0, q1, [a], true);
            applyGate(lam, n, g, q0, q1, [a], true);
          }
          continue;
        }
        const prm = params(code, angles, base, slot);
        if (slot >= 0) gradAngles[base + slot] = parameterGradient(code, lam, phi, n, q0, q1);
        applyGate(phi, n, code, q0, q1, prm, true);
        applyGate(lam, n, code, q0, q1, prm, true);
      }
      if (gradInit) gradInit.set(lam, 2 * (1 << n) * b);
    }
    return { out, gradAngles, gradInit };
  },
};
