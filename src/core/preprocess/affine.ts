/** Pure 4×4 row-major affine helpers (voxel ↔ world), shared by the preprocessing steps. */

export type Mat4 = number[];

export function matMul(a: Mat4, b: Mat4): Mat4 {
  const out = new Array<number>(16).fill(0);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[r * 4 + k] * b[k * 4 + c];
      out[r * 4 + c] = s;
    }
  }
  return out;
}

/** Apply an affine to a point. */
export function applyAffine(m: Mat4, p: readonly number[]): [number, number, number] {
  return [
    m[0] * p[0] + m[1] * p[1] + m[2] * p[2] + m[3],
    m[4] * p[0] + m[5] * p[1] + m[6] * p[2] + m[7],
    m[8] * p[0] + m[9] * p[1] + m[10] * p[2] + m[11],
  ];
}

/** Inverse of an affine whose last row is [0 0 0 1]; throws on a singular 3×3 part. */
export function invertAffine(m: Mat4): Mat4 {
  const [a, b, c, , d, e, f, , g, h, i] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) {
    throw new Error(`affine is singular (determinant ${det}): ${JSON.stringify(m)}`);
  }
  const inv3 = [
    A / det,
    -(b * i - c * h) / det,
    (b * f - c * e) / det,
    B / det,
    (a * i - c * g) / det,
    -(a * f - c * d) / det,
    C / det,
    -(a * h - b * g) / det,
    (a * e - b * d) / det,
  ];
  const t = [m[3], m[7], m[11]];
  const out: Mat4 = new Array<number>(16).fill(0);
  for (let r = 0; r < 3; r++) {
    for (let k = 0; k < 3; k++) out[r * 4 + k] = inv3[r * 3 + k];
    out[r * 4 + 3] = -(inv3[r * 3] * t[0] + inv3[r * 3 + 1] * t[1] + inv3[r * 3 + 2] * t[2]);
  }
  out[15] = 1;
  return out;
}

/** Length of each voxel axis in mm (the column norms of the 3×3 part). */
export function columnNorms(m: Mat4): [number, number, number] {
  const n = (c: number) => Math.hypot(m[c], m[4 + c], m[8 + c]);
  return [n(0), n(1), n(2)];
}

/** Diagonal affine: voxel (i, j, k) → origin + spacing·(i, j, k). */
export function diagonalAffine(spacing: readonly number[], origin: readonly number[]): Mat4 {
  return [spacing[0], 0, 0, origin[0], 0, spacing[1], 0, origin[1], 0, 0, spacing[2], origin[2], 0, 0, 0, 1];
}
