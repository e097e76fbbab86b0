/**
 * Shots: a seeded PRNG and sampling of basis states from a probability vector, as hardware would
 * report them. PRNG: xoshiro128** (Blackman & Vigna) seeded by four splitmix32 outputs of the
 * 32-bit seed; a uniform double in [0, 1) takes 53 bits from two outputs (a>>>5, b>>>6).
 * A shot is the first index whose cumulative probability exceeds the uniform draw.
 */

/** A seeded stream of uniform doubles in [0, 1). */
export function xoshiro128ss(seed: number): () => number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new Error(`seed ${seed} must be an integer in 0..2^32−1`);
  let sm = seed >>> 0;
  const splitmix32 = (): number => {
    sm = (sm + 0x9e3779b9) >>> 0;
    let z = sm;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const s = [splitmix32(), splitmix32(), splitmix32(), splitmix32()];
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Draws `shots` basis-state indices from `probs` (which must sum to ~1) and returns their counts. */
export function sampleCounts(probs: Float64Array, shots: number, uniform: () => number): Float64Array {
  if (!Number.isInteger(shots) || shots < 1) throw new Error(`shots ${shots} must be a positive integer`);
  const cdf = new Float64Array(probs.length);
  let acc = 0;
  probs.forEach((p, k) => {
    acc += p;
    cdf[k] = acc;
  });
  const counts = new Float64Array(probs.length);
  for (let s = 0; s < shots; s++) {
    const u = uniform() * acc;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    counts[lo]++;
  }
  return counts;
}

/** Empirical ⟨Z_q⟩ for every qubit from basis-state counts. */
export function zFromCounts(counts: Float64Array, n: number, shots: number): number[] {
  return Array.from({ length: n }, (_, q) => counts.reduce((a, c, k) => a + ((k >> q) & 1 ? -c : c), 0) / shots);
}

/** Empirical ⟨Z⊗…⊗Z⟩ from basis-state counts. */
export function parityFromCounts(counts: Float64Array, shots: number): number {
  return counts.reduce((a, c, k) => a + (popcount(k) & 1 ? -c : c), 0) / shots;
}

function popcount(k: number): number {
  let c = 0;
  for (let v = k; v; v &= v - 1) c++;
  return c;
}
