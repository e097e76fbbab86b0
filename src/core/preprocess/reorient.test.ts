import { describe, expect, it } from 'vitest';
import type { Volume } from '../volume.ts';
import { applyAffine } from './affine.ts';
import { isAxisAligned, reorientToRas } from './reorient.ts';

/** Voxel value = a linear function of its world position, so any resampling can be checked. */
const f = (w: readonly number[]) => w[0] + 100 * w[1] + 10000 * w[2];

function volumeFor(affine: number[], dims: [number, number, number]): Volume {
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  let o = 0;
  for (let k = 0; k < dims[2]; k++)
    for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) data[o++] = f(applyAffine(affine, [i, j, k]));
  return { dims, spacing: [1, 1, 1], affine, datatype: 'float32', data };
}

const PERMS = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
];
const cases: { perm: number[]; signs: number[] }[] = [];
for (const perm of PERMS)
  for (let s = 0; s < 8; s++) cases.push({ perm, signs: [0, 1, 2].map((b) => ((s >> b) & 1 ? -1 : 1)) });

describe('reorientToRas', () => {
  it('covers the 48 axis permutations/flips', () => expect(cases.length).toBe(48));

  it.each(cases)('axis-aligned perm $perm signs $signs is an exact permutation', ({ perm, signs }) => {
    const size = [2, 3, 1.5];
    // Source axis c points along world axis r where perm[r] = c.
    const affine = new Array<number>(16).fill(0);
    for (let r = 0; r < 3; r++) affine[r * 4 + perm[r]] = signs[r] * size[perm[r]];
    affine[3] = 7;
    affine[7] = -4;
    affine[11] = 2;
    affine[15] = 1;
    const dims: [number, number, number] = [3, 4, 5];
    const out = reorientToRas(volumeFor(affine, dims));
    expect(out.dims).toEqual(perm.map((c) => dims[c]));
    expect(out.spacing).toEqual(perm.map((c) => size[c]));
    for (const r of [0, 1, 2]) for (const c of [0, 1, 2]) if (r !== c) expect(out.affine[r * 4 + c]).toBe(0);
    let o = 0;
    for (let k = 0; k < out.dims[2]; k++)
      for (let j = 0; j < out.dims[1]; j++)
        for (let i = 0; i < out.dims[0]; i++) {
          expect(out.data[o++]).toBe(Math.fround(f(applyAffine(out.affine, [i, j, k]))));
        }
  });

  it('resamples an oblique volume onto an RAS grid (trilinear is exact for linear data)', () => {
    const a = (25 * Math.PI) / 180;
    const b = (10 * Math.PI) / 180;
    // Rotation about z then about x, 1×1×2 mm voxels.
    const rz = [Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a), 0, 0, 0, 1];
    const rx = [1, 0, 0, 0, Math.cos(b), -Math.sin(b), 0, Math.sin(b), Math.cos(b)];
    const rot = [0, 1, 2].map((r) =>
      [0, 1, 2].map((c) => rx[r * 3] * rz[c] + rx[r * 3 + 1] * rz[3 + c] + rx[r * 3 + 2] * rz[6 + c]),
    );
    const sp = [1, 1, 2];
    const affine = [
      ...rot[0].map((x, c) => x * sp[c]),
      3,
      ...rot[1].map((x, c) => x * sp[c]),
      -2,
      ...rot[2].map((x, c) => x * sp[c]),
      5,
      0,
      0,
      0,
      1,
    ];
    const src = volumeFor(affine, [20, 18, 10]);
    expect(isAxisAligned(affine)).toBe(false);
    const out = reorientToRas(src, -1);
    out.spacing.forEach((v, a) => expect(v).toBeCloseTo([1, 1, 2][a], 12));
    for (const r of [0, 1, 2]) for (const c of [0, 1, 2]) if (r !== c) expect(out.affine[r * 4 + c]).toBe(0);
    // Interior samples (all 8 neighbours inside the source) reproduce the linear function.
    const inv = (w: number[]) => {
      // Rotation is orthonormal: source index = Rᵀ (w − t) / spacing.
      const d = [w[0] - 3, w[1] + 2, w[2] - 5];
      return [0, 1, 2].map((c) => (rot[0][c] * d[0] + rot[1][c] * d[1] + rot[2][c] * d[2]) / sp[c]);
    };
    let checked = 0;
    let o = 0;
    for (let k = 0; k < out.dims[2]; k++)
      for (let j = 0; j < out.dims[1]; j++)
        for (let i = 0; i < out.dims[0]; i++, o++) {
          const w = applyAffine(out.affine, [i, j, k]);
          const s = inv(w);
          const inside = s[0] >= 0 && s[1] >= 0 && s[2] >= 0 && s[0] <= 19 && s[1] <= 17 && s[2] <= 9;
          const outside = s[0] < -0.5 || s[1] < -0.5 || s[2] < -0.5 || s[0] > 19.5 || s[1] > 17.5 || s[2] > 9.5;
          if (inside) {
            expect(Math.abs(out.data[o] - f(w))).toBeLessThan(0.05);
            checked++;
          } else if (outside) expect(out.data[o]).toBe(-1);
        }
    expect(checked).toBeGreaterThan(1000);
  });
});
