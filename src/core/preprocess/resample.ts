/**
 * Separable resampling of an RAS-aligned volume: each output axis reads one source axis through
 * a linear (tent) kernel. Upsampling is plain trilinear interpolation; when an axis is downsampled
 * by a factor f > 1 the tent is widened to f source voxels (anti-aliasing, the rule of PIL's and
 * torch's antialiased bilinear resize).
 */

/** Output voxel index i along an axis reads the source at continuous voxel coordinate start + i·step. */
export interface AxisMap {
  n: number;
  start: number;
  step: number;
}

interface AxisTaps {
  /** First source index and number of taps for each output index (0 taps → fill). */
  first: Int32Array;
  count: Int32Array;
  /** Weights, `maxTaps` per output index. */
  weights: Float64Array;
  maxTaps: number;
}

/** Tent-kernel taps along one axis; weights renormalised at the border (edge replication). */
export function axisTaps(srcN: number, map: AxisMap): AxisTaps {
  const radius = Math.max(1, Math.abs(map.step));
  const maxTaps = 2 * Math.ceil(radius) + 1;
  const first = new Int32Array(map.n);
  const count = new Int32Array(map.n);
  const weights = new Float64Array(map.n * maxTaps);
  for (let i = 0; i < map.n; i++) {
    const s = map.start + i * map.step;
    if (s < -0.5 || s > srcN - 0.5) continue;
    const lo = Math.max(0, Math.ceil(s - radius));
    const hi = Math.min(srcN - 1, Math.floor(s + radius));
    let sum = 0;
    let c = 0;
    for (let t = lo; t <= hi; t++) {
      const w = 1 - Math.abs(t - s) / radius;
      weights[i * maxTaps + c++] = w > 0 ? w : 0;
      sum += w > 0 ? w : 0;
    }
    if (sum <= 0) {
      // s sits exactly on a border voxel centre beyond which there is nothing: take that voxel.
      const t = Math.min(srcN - 1, Math.max(0, Math.round(s)));
      first[i] = t;
      count[i] = 1;
      weights[i * maxTaps] = 1;
      continue;
    }
    for (let q = 0; q < c; q++) weights[i * maxTaps + q] /= sum;
    first[i] = lo;
    count[i] = c;
  }
  return { first, count, weights, maxTaps };
}

/** Resample along one axis of a [n0, n1, n2] volume. */
function resampleAxis(src: Float32Array, dims: number[], axis: number, map: AxisMap, fill: number): Float32Array {
  const taps = axisTaps(dims[axis], map);
  const inner = axis === 0 ? 1 : axis === 1 ? dims[0] : dims[0] * dims[1];
  const outer = axis === 0 ? dims[1] * dims[2] : axis === 1 ? dims[2] : 1;
  const nA = dims[axis];
  const out = new Float32Array(inner * map.n * outer);
  const acc = new Float64Array(inner);
  for (let u = 0; u < outer; u++) {
    for (let o = 0; o < map.n; o++) {
      const outBase = (u * map.n + o) * inner;
      const c = taps.count[o];
      if (c === 0) {
        out.fill(fill, outBase, outBase + inner);
        continue;
      }
      acc.fill(0);
      for (let q = 0; q < c; q++) {
        const w = taps.weights[o * taps.maxTaps + q];
        const inBase = (u * nA + taps.first[o] + q) * inner;
        for (let v = 0; v < inner; v++) acc[v] += w * src[inBase + v];
      }
      for (let v = 0; v < inner; v++) out[outBase + v] = acc[v];
    }
  }
  return out;
}

/**
 * Resample `data` (dims) onto the grid described by one AxisMap per axis. Axes are processed in a
 * fixed order (the most-shrinking first, ties by axis) so the result is deterministic.
 */
export function resampleSeparable(
  data: Float32Array,
  dims: readonly number[],
  maps: readonly AxisMap[],
  fill = 0,
): Float32Array {
  const order = [0, 1, 2].sort((a, b) => maps[a].n / dims[a] - maps[b].n / dims[b] || a - b);
  let cur = data;
  const curDims = [...dims];
  for (const axis of order) {
    cur = resampleAxis(cur, curDims, axis, maps[axis], fill);
    curDims[axis] = maps[axis].n;
  }
  return cur;
}

/** Axis map that covers the same extent as the source with voxels of about `targetMm`. */
export function coverAxis(srcN: number, srcMm: number, targetMm: number): AxisMap {
  const n = Math.max(1, Math.round((srcN * srcMm) / targetMm));
  const step = srcN / n;
  return { n, start: -0.5 + step / 2, step };
}
