import { describe, expect, it } from 'vitest';
import { axisTaps, coverAxis, resampleSeparable, type AxisMap } from './resample.ts';

/** Anti-aliased ball of radius r (mm) centred in an n³ grid of `mm` voxels (8³ supersampling). */
function ball(n: number, mm: number, r: number): Float32Array {
  const out = new Float32Array(n ** 3);
  const c = (n * mm) / 2;
  let o = 0;
  for (let k = 0; k < n; k++)
    for (let j = 0; j < n; j++)
      for (let i = 0; i < n; i++, o++) {
        let inside = 0;
        for (let s = 0; s < 64; s++) {
          const x = (i + ((s & 3) + 0.5) / 4) * mm - c;
          const y = (j + (((s >> 2) & 3) + 0.5) / 4) * mm - c;
          const z = (k + (((s >> 4) & 3) + 0.5) / 4) * mm - c;
          if (x * x + y * y + z * z <= r * r) inside++;
        }
        out[o] = inside / 64;
      }
  return out;
}

function thresholdedVolume(data: Float32Array, voxelMm3: number): number {
  let n = 0;
  for (const v of data) if (v >= 0.5) n++;
  return n * voxelMm3;
}

describe('resampleSeparable', () => {
  it('taps sum to 1 and reduce to linear interpolation when upsampling', () => {
    const t = axisTaps(10, { n: 25, start: -0.3, step: 0.4 });
    for (let i = 0; i < 25; i++) {
      let s = 0;
      for (let q = 0; q < t.count[i]; q++) s += t.weights[i * t.maxTaps + q];
      expect(s).toBeCloseTo(1, 12);
    }
    const data = Float32Array.from({ length: 10 }, (_, i) => 3 * i + 1);
    const out = resampleSeparable(
      data,
      [10, 1, 1],
      [
        { n: 19, start: 0, step: 0.5 },
        { n: 1, start: 0, step: 1 },
        { n: 1, start: 0, step: 1 },
      ],
    );
    out.forEach((v, i) => expect(v).toBeCloseTo(3 * (i * 0.5) + 1, 5));
  });

  it.each([
    ['downsampled 1 → 2.5 mm', 2.5],
    ['upsampled 1 → 0.7 mm', 0.7],
  ])('a sphere keeps its volume within 2 %% when %s', (_, target) => {
    const n = 64;
    const r = 18;
    const src = ball(n, 1, r);
    const maps = [0, 1, 2].map(() => coverAxis(n, 1, target));
    const out = resampleSeparable(src, [n, n, n], maps);
    const mm = maps[0].step;
    const v = thresholdedVolume(out, mm ** 3);
    const exact = (4 / 3) * Math.PI * r ** 3;
    expect(Math.abs(v - exact) / exact).toBeLessThan(0.02);
  });

  it('anti-aliases: a 1-voxel stripe pattern downsampled ×4 becomes flat grey', () => {
    const n = 64;
    const src = new Float32Array(n * 4 * 4);
    for (let k = 0; k < 4; k++)
      for (let j = 0; j < 4; j++) for (let i = 0; i < n; i++) src[i + n * (j + 4 * k)] = i % 2;
    const id: AxisMap = { n: 4, start: 0, step: 1 };
    const out = resampleSeparable(src, [n, 4, 4], [{ n: 16, start: 1.5, step: 4 }, id, id]);
    for (let i = 1; i < 15; i++) expect(out[i]).toBeCloseTo(0.5, 2);
  });

  it('fills outside the source', () => {
    const src = new Float32Array(8).fill(2);
    const out = resampleSeparable(
      src,
      [2, 2, 2],
      [
        { n: 3, start: -1, step: 1.5 },
        { n: 2, start: 0, step: 1 },
        { n: 2, start: 0, step: 1 },
      ],
      -7,
    );
    expect(Array.from(out.slice(0, 3))).toEqual([-7, 2, -7]);
  });
});
