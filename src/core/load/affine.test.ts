import { describe, expect, it } from 'vitest';
import { isUsableAffine, matToQuatern, orientationCode, quaternToMat, type Mat4 } from './affine.ts';

function rotZ(deg: number): number[][] {
  const t = (deg * Math.PI) / 180;
  return [
    [Math.cos(t), -Math.sin(t), 0],
    [Math.sin(t), Math.cos(t), 0],
    [0, 0, 1],
  ];
}
function rotX(deg: number): number[][] {
  const t = (deg * Math.PI) / 180;
  return [
    [1, 0, 0],
    [0, Math.cos(t), -Math.sin(t)],
    [0, Math.sin(t), Math.cos(t)],
  ];
}
function mul(a: number[][], b: number[][]): number[][] {
  return a.map((row) => [0, 1, 2].map((j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
}
/** R·diag(s) plus translation t, row-major 4×4. */
function affineOf(r: number[][], s: number[], t: number[]): Mat4 {
  const m: Mat4 = [];
  for (let i = 0; i < 3; i++) m.push(r[i][0] * s[0], r[i][1] * s[1], r[i][2] * s[2], t[i]);
  return [...m, 0, 0, 0, 1];
}

describe('quaternion ↔ matrix', () => {
  const cases: [string, Mat4][] = [
    ['identity', affineOf(rotZ(0), [1, 1, 1], [0, 0, 0])],
    ['oblique, anisotropic', affineOf(mul(rotZ(17), rotX(-23)), [0.9, 0.9, 4], [-100, 80, -40])],
    ['LPS (180° about z)', affineOf(rotZ(180), [1, 1, 1.5], [90, 126, -72])],
    [
      'left-handed (qfac −1)',
      affineOf(
        rotX(12).map((r) => [r[0], r[1], -r[2]]),
        [1, 1, 2],
        [1, 2, 3],
      ),
    ],
  ];
  for (const [name, m] of cases) {
    it(`round-trips ${name}`, () => {
      const back = quaternToMat(matToQuatern(m));
      back.forEach((v, i) => expect(v).toBeCloseTo(m[i], 9));
    });
  }
  it('marks a left-handed grid with qfac −1', () => {
    expect(matToQuatern(cases[3][1]).qfac).toBe(-1);
    expect(matToQuatern(cases[1][1]).qfac).toBe(1);
  });
});

describe('orientationCode', () => {
  it('names canonical orientations like nibabel', () => {
    expect(orientationCode(affineOf(rotZ(0), [1, 1, 1], [0, 0, 0]))).toBe('RAS');
    expect(orientationCode(affineOf(rotZ(180), [1, 1, 1], [0, 0, 0]))).toBe('LPS');
    // Sagittal acquisition: i runs A→P, j S→I, k L→R.
    const sag = [0, 0, 1, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 1];
    expect(orientationCode(sag)).toBe('PIR');
  });
  it('picks the dominant axis of an oblique affine', () => {
    expect(orientationCode(affineOf(mul(rotZ(30), rotX(-20)), [1, 1, 3], [0, 0, 0]))).toBe('RAS');
    expect(orientationCode(affineOf(rotZ(60), [1, 1, 1], [0, 0, 0]))).toBe('ALS');
  });
});

describe('isUsableAffine', () => {
  it('rejects singular and non-finite matrices', () => {
    expect(isUsableAffine([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])).toBe(true);
    expect(isUsableAffine([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])).toBe(false);
    expect(isUsableAffine([NaN, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])).toBe(false);
  });
});
