/** Pure 4×4 affine helpers: NIfTI quaternion ↔ matrix, orientation codes, validity checks. */

/** Row-major 4×4, as in Volume.affine. */
export type Mat4 = number[];

export interface Quatern {
  b: number;
  c: number;
  d: number;
  qx: number;
  qy: number;
  qz: number;
  /** pixdim[0]: −1 flips the third axis (a left-handed voxel grid). */
  qfac: 1 | -1;
  spacing: [number, number, number];
}

/** nifti1_io's quatern_to_mat44. */
export function quaternToMat(q: Quatern): Mat4 {
  let { b, c, d } = q;
  let a = 1 - (b * b + c * c + d * d);
  if (a < 1e-7) {
    // Not a unit quaternion's vector part: NIfTI says use a = 0 and normalise (b, c, d).
    const n = Math.hypot(b, c, d) || 1;
    b /= n;
    c /= n;
    d /= n;
    a = 0;
  } else {
    a = Math.sqrt(a);
  }
  const [xd0, yd0, zd0] = q.spacing;
  const xd = xd0 > 0 ? xd0 : 1;
  const yd = yd0 > 0 ? yd0 : 1;
  const zd = (zd0 > 0 ? zd0 : 1) * q.qfac;
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const t = [q.qx, q.qy, q.qz];
  const m: Mat4 = [];
  for (let i = 0; i < 3; i++) m.push(r[i][0] * xd, r[i][1] * yd, r[i][2] * zd, t[i]);
  m.push(0, 0, 0, 1);
  return m;
}

function det3(m: number[][]): number {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}

function inv3T(m: number[][]): number[][] {
  const d = det3(m);
  const cof = (r0: number, r1: number, c0: number, c1: number) => m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
  // Transpose of the inverse = cofactor matrix / det.
  return [
    [cof(1, 2, 1, 2) / d, -cof(1, 2, 0, 2) / d, cof(1, 2, 0, 1) / d],
    [-cof(0, 2, 1, 2) / d, cof(0, 2, 0, 2) / d, -cof(0, 2, 0, 1) / d],
    [cof(0, 1, 1, 2) / d, -cof(0, 1, 0, 2) / d, cof(0, 1, 0, 1) / d],
  ];
}

/** Nearest rotation (polar decomposition, Newton iteration) — what nifti1_io does before quaternion fitting. */
function polar(m: number[][]): number[][] {
  let x = m.map((row) => row.slice());
  for (let it = 0; it < 50; it++) {
    const y = inv3T(x);
    const next = x.map((row, i) => row.map((v, j) => 0.5 * (v + y[i][j])));
    const diff = next.flat().reduce((s, v, k) => s + Math.abs(v - x.flat()[k]), 0);
    x = next;
    if (diff < 1e-12) break;
  }
  return x;
}

/** nifti1_io's mat44_to_quatern: the qform that best matches an affine (exact when it has no shear). */
export function matToQuatern(m: Mat4): Quatern {
  const col = (j: number) => [m[j], m[4 + j], m[8 + j]];
  const cols = [col(0), col(1), col(2)];
  const spacing = cols.map((v) => Math.hypot(v[0], v[1], v[2]) || 1) as [number, number, number];
  const unit = cols.map((v, j) => v.map((x) => x / spacing[j]));
  let r = [0, 1, 2].map((i) => [unit[0][i], unit[1][i], unit[2][i]]);
  let qfac: 1 | -1 = 1;
  if (det3(r) < 0) {
    qfac = -1;
    for (let i = 0; i < 3; i++) r[i][2] = -r[i][2];
  }
  r = polar(r);
  const [r11, r12, r13] = r[0];
  const [r21, r22, r23] = r[1];
  const [r31, r32, r33] = r[2];
  let a = r11 + r22 + r33 + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { b, c, d, qx: m[3], qy: m[7], qz: m[11], qfac, spacing };
}

/** Diagonal affine from voxel sizes: NIfTI's fallback when neither sform nor qform is set. */
export function scaleMat(spacing: [number, number, number]): Mat4 {
  return [spacing[0], 0, 0, 0, 0, spacing[1], 0, 0, 0, 0, spacing[2], 0, 0, 0, 0, 1];
}

/** Rotation-scale part is finite and invertible. */
export function isUsableAffine(m: Mat4): boolean {
  if (m.length !== 16 || !m.every(Number.isFinite)) return false;
  const r = [0, 1, 2].map((i) => [m[4 * i], m[4 * i + 1], m[4 * i + 2]]);
  return Math.abs(det3(r)) > 1e-12;
}

/**
 * Orientation code as nibabel's aff2axcodes: for each voxel axis i, j, k the world direction it
 * points to most ("RAS": i runs to the Right, j Anterior, k Superior). Pairs are chosen largest
 * component first, so an oblique axis never steals a world axis a straighter one owns.
 */
export function orientationCode(m: Mat4): string {
  const letters = [
    ['L', 'R'],
    ['P', 'A'],
    ['I', 'S'],
  ];
  const worldOf = [-1, -1, -1];
  const usedWorld = new Set<number>();
  for (let round = 0; round < 3; round++) {
    let best = { j: -1, w: -1, mag: -1 };
    for (let j = 0; j < 3; j++) {
      if (worldOf[j] >= 0) continue;
      for (let w = 0; w < 3; w++) {
        const mag = Math.abs(m[4 * w + j]);
        if (!usedWorld.has(w) && mag > best.mag) best = { j, w, mag };
      }
    }
    worldOf[best.j] = best.w;
    usedWorld.add(best.w);
  }
  return worldOf.map((w, j) => letters[w][m[4 * w + j] >= 0 ? 1 : 0]).join('');
}
