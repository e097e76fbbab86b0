/** Binary morphology on 3D masks (Uint8Array, index i + nx·(j + ny·k)) with distances in mm. */

const INF = 1e20;

/** 1D squared distance transform of f (Felzenszwalb & Huttenlocher 2012), sample spacing `h`. */
function edt1d(f: Float32Array, n: number, h: number, d: Float32Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    const fq = f[q] + q * h * (q * h);
    let s: number;
    for (;;) {
      const p = v[k];
      s = (fq - (f[p] + p * h * (p * h))) / (2 * h * (q - p));
      if (s <= z[k]) k--;
      else break;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    const x = q * h;
    while (z[k + 1] < x) k++;
    const dq = (q - v[k]) * h;
    d[q] = dq * dq + f[v[k]];
  }
}

/** Along x, the binary case in two linear scans: squared distance to the nearest set voxel of the row. */
function rowDistances(mask: Uint8Array, dist: Float32Array, nx: number, rows: number, h: number): void {
  for (let r = 0; r < rows; r++) {
    const base = r * nx;
    let last = -1;
    for (let i = 0; i < nx; i++) {
      if (mask[base + i]) last = i;
      dist[base + i] = last < 0 ? INF : (i - last) * h;
    }
    last = -1;
    for (let i = nx - 1; i >= 0; i--) {
      if (mask[base + i]) last = i;
      if (last >= 0) {
        const dd = (last - i) * h;
        if (dd < dist[base + i]) dist[base + i] = dd;
      }
      const x = dist[base + i];
      dist[base + i] = x >= INF ? INF : x * x;
    }
  }
}

/** Squared Euclidean distance (mm²) from every voxel to the nearest voxel where `mask` is 1. */
export function squaredDistanceTo(mask: Uint8Array, dims: readonly number[], spacing: readonly number[]): Float32Array {
  const [nx, ny, nz] = dims;
  const dist = new Float32Array(mask.length);
  rowDistances(mask, dist, nx, ny * nz, spacing[0]);
  const nMax = Math.max(nx, ny, nz);
  const f = new Float32Array(nMax);
  const d = new Float32Array(nMax);
  const v = new Int32Array(nMax);
  const z = new Float64Array(nMax + 1);
  const strides = [1, nx, nx * ny];
  for (let axis = 1; axis < 3; axis++) {
    const n = dims[axis];
    const st = strides[axis];
    const others = [0, 1, 2].filter((a) => a !== axis);
    for (let b = 0; b < dims[others[1]]; b++) {
      for (let a = 0; a < dims[others[0]]; a++) {
        const base = a * strides[others[0]] + b * strides[others[1]];
        let any = false;
        for (let q = 0; q < n; q++) {
          f[q] = dist[base + q * st];
          if (f[q] < INF) any = true;
        }
        // A line with no finite distance stays infinite.
        if (!any) continue;
        edt1d(f, n, spacing[axis], d, v, z);
        for (let q = 0; q < n; q++) dist[base + q * st] = d[q];
      }
    }
  }
  return dist;
}

/** True when a ball of radius `mm` holds exactly the voxel and its 6 face neighbours. */
function isCross(spacing: readonly number[], mm: number): boolean {
  const [a, b, c] = spacing;
  const faces = a <= mm && b <= mm && c <= mm && 2 * Math.min(a, b, c) > mm;
  return faces && Math.hypot(a, b) > mm && Math.hypot(a, c) > mm && Math.hypot(b, c) > mm;
}

/** Dilation by the 6-neighbour cross (the fast path of a one-voxel ball). */
function dilateCross(mask: Uint8Array, dims: readonly number[]): Uint8Array {
  const [nx, ny, nz] = dims;
  const plane = nx * ny;
  const out = mask.slice();
  let p = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, p++) {
        if (!mask[p]) continue;
        if (i > 0) out[p - 1] = 1;
        if (i < nx - 1) out[p + 1] = 1;
        if (j > 0) out[p - nx] = 1;
        if (j < ny - 1) out[p + nx] = 1;
        if (k > 0) out[p - plane] = 1;
        if (k < nz - 1) out[p + plane] = 1;
      }
    }
  }
  return out;
}

function invert(mask: Uint8Array): Uint8Array {
  const inv = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) inv[i] = mask[i] ? 0 : 1;
  return inv;
}

/** Dilation by `steps` 6-neighbour crosses (an octahedron of radius `steps` voxels): cheap, for small radii. */
export function dilateSteps(mask: Uint8Array, dims: readonly number[], steps: number): Uint8Array {
  let out = mask;
  for (let s = 0; s < steps; s++) out = dilateCross(out, dims);
  return out === mask ? mask.slice() : out;
}

export function erodeSteps(mask: Uint8Array, dims: readonly number[], steps: number): Uint8Array {
  return invert(dilateSteps(invert(mask), dims, steps));
}

/** Dilation by a ball of radius `mm` (exact, through the distance transform). */
export function dilate(mask: Uint8Array, dims: readonly number[], spacing: readonly number[], mm: number): Uint8Array {
  if (isCross(spacing, mm)) return dilateCross(mask, dims);
  const d = squaredDistanceTo(mask, dims, spacing);
  const out = new Uint8Array(mask.length);
  // Boundary voxels count as inside despite float32 rounding of the squared distances.
  const r2 = mm * mm * (1 + 1e-6);
  for (let i = 0; i < out.length; i++) out[i] = d[i] <= r2 ? 1 : 0;
  return out;
}

/** Erosion by a ball of radius `mm`; outside the volume counts as foreground (no border erosion). */
export function erode(mask: Uint8Array, dims: readonly number[], spacing: readonly number[], mm: number): Uint8Array {
  return invert(dilate(invert(mask), dims, spacing, mm));
}

export function close(mask: Uint8Array, dims: readonly number[], spacing: readonly number[], mm: number): Uint8Array {
  return erode(dilate(mask, dims, spacing, mm), dims, spacing, mm);
}

/** 6-connected component labels (0 = background) and each label's size (sizes[0] unused). */
export function labelComponents(mask: Uint8Array, dims: readonly number[]): { labels: Int32Array; sizes: number[] } {
  const [nx, ny, nz] = dims;
  const plane = nx * ny;
  const labels = new Int32Array(mask.length);
  const sizes = [0];
  const stack = new Int32Array(mask.length);
  for (let seed = 0; seed < mask.length; seed++) {
    if (!mask[seed] || labels[seed]) continue;
    const label = sizes.length;
    let top = 0;
    let size = 0;
    stack[top++] = seed;
    labels[seed] = label;
    while (top > 0) {
      const p = stack[--top];
      size++;
      const i = p % nx;
      const j = ((p - i) / nx) % ny;
      const k = (p - i - j * nx) / plane;
      let q = p - 1;
      if (i > 0 && mask[q] && !labels[q]) {
        labels[q] = label;
        stack[top++] = q;
      }
      q = p + 1;
      if (i < nx - 1 && mask[q] && !labels[q]) {
        labels[q] = label;
        stack[top++] = q;
      }
      q = p - nx;
      if (j > 0 && mask[q] && !labels[q]) {
        labels[q] = label;
        stack[top++] = q;
      }
      q = p + nx;
      if (j < ny - 1 && mask[q] && !labels[q]) {
        labels[q] = label;
        stack[top++] = q;
      }
      q = p - plane;
      if (k > 0 && mask[q] && !labels[q]) {
        labels[q] = label;
        stack[top++] = q;
      }
      q = p + plane;
      if (k < nz - 1 && mask[q] && !labels[q]) {
        labels[q] = label;
        stack[top++] = q;
      }
    }
    sizes.push(size);
  }
  return { labels, sizes };
}

/** The largest 6-connected component (empty mask if none). */
export function largestComponent(mask: Uint8Array, dims: readonly number[]): Uint8Array {
  const { labels, sizes } = labelComponents(mask, dims);
  let best = 0;
  for (let l = 1; l < sizes.length; l++) if (sizes[l] > (sizes[best] ?? 0)) best = l;
  const out = new Uint8Array(mask.length);
  if (best === 0) return out;
  for (let i = 0; i < out.length; i++) out[i] = labels[i] === best ? 1 : 0;
  return out;
}

/**
 * Marks (in `outside`, value 1) the background voxels of `mask` reachable from the border of the
 * [nx, ny, nz] block that starts at `offset`; 4-connected in-plane, plus through z when nz > 1.
 */
function floodFromBorder(
  mask: Uint8Array,
  outside: Uint8Array,
  offset: number,
  nx: number,
  ny: number,
  nz: number,
  stack: Int32Array,
): void {
  const plane = nx * ny;
  let top = 0;
  const seed = (p: number) => {
    if (!mask[offset + p] && !outside[offset + p]) {
      outside[offset + p] = 1;
      stack[top++] = p;
    }
  };
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        if (i === 0 || j === 0 || i === nx - 1 || j === ny - 1 || (nz > 1 && (k === 0 || k === nz - 1)))
          seed(i + nx * j + plane * k);
      }
    }
  }
  while (top > 0) {
    const p = stack[--top];
    const i = p % nx;
    const j = ((p - i) / nx) % ny;
    const k = (p - i - j * nx) / plane;
    if (i > 0) seed(p - 1);
    if (i < nx - 1) seed(p + 1);
    if (j > 0) seed(p - nx);
    if (j < ny - 1) seed(p + nx);
    if (k > 0) seed(p - plane);
    if (k < nz - 1) seed(p + plane);
  }
}

/** Fill holes: background not connected to the volume border (3D), then per axial slice (2D). */
export function fillHoles(mask: Uint8Array, dims: readonly number[]): Uint8Array {
  const [nx, ny, nz] = dims;
  const stack = new Int32Array(mask.length);
  const outside = new Uint8Array(mask.length);
  floodFromBorder(mask, outside, 0, nx, ny, nz, stack);
  const filled = new Uint8Array(mask.length);
  for (let p = 0; p < mask.length; p++) filled[p] = outside[p] ? 0 : 1;
  // Per-slice pass: a scan cut by its field of view leaves holes open through the top/bottom slice.
  const outside2 = new Uint8Array(mask.length);
  for (let k = 0; k < nz; k++) floodFromBorder(filled, outside2, k * nx * ny, nx, ny, 1, stack);
  for (let p = 0; p < mask.length; p++) filled[p] = outside2[p] ? 0 : 1;
  return filled;
}
