/** Order statistics without a full sort (deterministic quickselect), numpy's 'linear' percentile rule. */

function select(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    // Median of three keeps the pivot choice deterministic and avoids the sorted-input worst case.
    const mid = (lo + hi) >> 1;
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** Percentiles (0..100) of `values` by linear interpolation between order statistics; `values` is reordered. */
export function percentilesInPlace(values: Float32Array, ps: readonly number[]): number[] {
  if (values.length === 0) throw new Error('percentile of an empty set of voxels');
  return ps.map((p) => {
    const pos = (p / 100) * (values.length - 1);
    const lo = Math.floor(pos);
    const frac = pos - lo;
    const a = select(values, lo);
    if (frac === 0 || lo + 1 >= values.length) return a;
    // After select(lo), every element above index lo is ≥ a: the next order statistic is their minimum.
    let b = Infinity;
    for (let i = lo + 1; i < values.length; i++) if (values[i] < b) b = values[i];
    return a + frac * (b - a);
  });
}

/** Percentiles of the voxels where `mask` is set (or of all voxels when mask is null). */
export function maskedPercentiles(data: Float32Array, mask: Uint8Array | null, ps: readonly number[]): number[] {
  let n = 0;
  if (mask) for (let i = 0; i < mask.length; i++) n += mask[i];
  const vals = mask ? new Float32Array(n) : data.slice();
  if (mask) {
    let o = 0;
    for (let i = 0; i < data.length; i++) if (mask[i]) vals[o++] = data[i];
  }
  return percentilesInPlace(vals, ps);
}
