/**
 * The shared index loops of the kernel. A state is 2^n complex128 amplitudes, interleaved
 * (re, im), so one v128 holds one amplitude; amplitude k lives at psi + 16·k and qubit q is bit q
 * of k. A gate hands its coefficients (v128 constants) and a tiny core to one of these loops.
 * The innermost loops walk contiguous memory; the cores are @inline so each gate compiles to one
 * specialised loop.
 */

/** v128 with both lanes zero. */
export const ZERO: v128 = f64x2.splat(0.0);

/** (re, im) → (im, re): with a lane-sign constant this turns a complex product into two v128 FMAs. */
@inline export function swap(a: v128): v128 {
  return f64x2.shuffle(a, a, 1, 0);
}

/** Real part coefficient of c in c·a = R·a + I·swap(a). */
@inline export function coefR(re: f64): v128 {
  return f64x2.splat(re);
}

/** Imaginary part coefficient of c in c·a = R·a + I·swap(a). */
@inline export function coefI(im: f64): v128 {
  return f64x2(-im, im);
}

/** c·a for c given as (R, I) = (coefR(cr), coefI(ci)). */
@inline export function cmul(r: v128, i: v128, a: v128): v128 {
  return f64x2.add(f64x2.mul(r, a), f64x2.mul(i, swap(a)));
}

/**
 * Calls core.apply(p0, p1, c…) for every pair of amplitudes differing only in bit t, in state psi
 * and then, when psi2 ≠ 0, in state psi2 (the adjoint pass moves φ and λ with one set of coefficients).
 */
@inline export function forPairs<C>(
  core: C, psi: usize, psi2: usize, n: i32, t: i32,
  c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128, c6: v128, c7: v128,
): void {
  const bytes = (<usize>1 << n) << 4;
  const off = (<usize>1 << t) << 4;
  for (let s = psi; s != 0; s = s == psi ? psi2 : 0) {
    const end = s + bytes;
    if (t == 0) {
      // adjacent pairs: one flat loop instead of 2^(n−1) one-iteration inner loops
      for (let p = s; p < end; p += 32) core.apply(p, p + 16, c0, c1, c2, c3, c4, c5, c6, c7);
      continue;
    }
    for (let block = s; block < end; block += off << 1) {
      const stop = block + off;
      for (let p = block; p < stop; p += 16) {
        core.apply(p, p + off, c0, c1, c2, c3, c4, c5, c6, c7);
      }
    }
  }
}

/** Calls core.apply(p00, pa, pb, pab, c…) for every quartet differing only in bits a and b, in psi then psi2 (≠ 0). */
@inline export function forQuartets<C>(
  core: C, psi: usize, psi2: usize, n: i32, a: i32, b: i32, c0: v128, c1: v128,
): void {
  const lo = a < b ? a : b;
  const hi = a < b ? b : a;
  const bytes = (<usize>1 << n) << 4;
  const offLo = (<usize>1 << lo) << 4;
  const offHi = (<usize>1 << hi) << 4;
  const offA = (<usize>1 << a) << 4;
  const offB = (<usize>1 << b) << 4;
  for (let s = psi; s != 0; s = s == psi ? psi2 : 0) {
    const end = s + bytes;
    for (let i = s; i < end; i += offHi << 1) {
      const iStop = i + offHi;
      if (lo == 0) {
        // the low bit is bit 0: skip the one-iteration innermost loop
        for (let p = i; p < iStop; p += 32) core.apply(p, p + offA, p + offB, p + offA + offB, c0, c1);
        continue;
      }
      for (let j = i; j < iStop; j += offLo << 1) {
        const jStop = j + offLo;
        for (let p = j; p < jStop; p += 16) {
          core.apply(p, p + offA, p + offB, p + offA + offB, c0, c1);
        }
      }
    }
  }
}

/** Sums core.term(l0, l1, f0, f1) over every pair (bit t = 0, 1) of two states lam and phi. */
@inline export function sumPairs<C>(core: C, lam: usize, phi: usize, n: i32, t: i32): v128 {
  const dim = <usize>1 << n;
  const off = (<usize>1 << t) << 4;
  const bytes = dim << 4;
  let acc = ZERO;
  for (let block: usize = 0; block < bytes; block += off << 1) {
    const stop = block + off;
    for (let o = block; o < stop; o += 16) {
      acc = f64x2.add(acc, core.term(lam + o, lam + o + off, phi + o, phi + o + off));
    }
  }
  return acc;
}

/** Sums core.term(la, lb, fa, fb) over every quartet of two states, at the (a=1,b=0) and (a=0,b=1) corners. */
@inline export function sumQuartets<C>(core: C, lam: usize, phi: usize, n: i32, a: i32, b: i32): v128 {
  const lo = a < b ? a : b;
  const hi = a < b ? b : a;
  const bytes = (<usize>1 << n) << 4;
  const offLo = (<usize>1 << lo) << 4;
  const offHi = (<usize>1 << hi) << 4;
  const offA = (<usize>1 << a) << 4;
  const offB = (<usize>1 << b) << 4;
  let acc = ZERO;
  for (let i: usize = 0; i < bytes; i += offHi << 1) {
    const iStop = i + offHi;
    for (let j = i; j < iStop; j += offLo << 1) {
      const jStop = j + offLo;
      for (let o = j; o < jStop; o += 16) {
        acc = f64x2.add(acc, core.term(lam + o + offA, lam + o + offB, phi + o + offA, phi + o + offB));
      }
    }
  }
  return acc;
}
