import { describe, expect, it } from 'vitest';
import { camOnFeatureGrid, camToScan, gradCam, invert4, multiply4 } from './index.ts';

const I4 = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

describe('camOnFeatureGrid', () => {
  it('weights channels by the gradient and clips negatives', () => {
    // 2 channels on a 1×1×2 grid: cam = relu((g0·A0 + g1·A1) / S).
    const fmap = Float32Array.of(1, 2, 3, -4);
    const { cam, dims } = camOnFeatureGrid({ featureMap: fmap, featureMapDims: [2, 1, 1, 2], channelGrad: [1, 0.5] });
    expect(dims).toEqual([1, 1, 2]);
    expect(cam[0]).toBeCloseTo((1 + 1.5) / 2, 6);
    expect(cam[1]).toBe(0);
  });

  it('accepts 2D maps and names mismatched sizes', () => {
    expect(
      camOnFeatureGrid({ featureMap: new Float32Array(6), featureMapDims: [1, 2, 3], channelGrad: [1] }).dims,
    ).toEqual([1, 2, 3]);
    expect(() =>
      camOnFeatureGrid({ featureMap: new Float32Array(6), featureMapDims: [2, 2, 3], channelGrad: [1] }),
    ).toThrow(/1 gradients for 2 feature channels/);
  });
});

describe('invert4', () => {
  it('inverts an oblique affine', () => {
    const c = Math.cos(0.3),
      s = Math.sin(0.3);
    const m = [c * 2, -s, 0, 10, s * 2, c, 0, -5, 0, 0, 3, 7, 0, 0, 0, 1];
    multiply4(invert4(m), m).forEach((v, i) => expect(v).toBeCloseTo(I4[i], 12));
  });
});

describe('camToScan', () => {
  it('is the normalised cam when scan, grid and feature grid coincide', () => {
    const cam = Float32Array.from({ length: 24 }, (_, i) => i);
    const out = camToScan({
      cam,
      camDims: [2, 3, 4],
      grid: [4, 3, 2],
      gridAffine: I4,
      scanDims: [4, 3, 2],
      scanAffine: I4,
    });
    out.forEach((v, i) => expect(v).toBeCloseTo(i / 23, 6));
  });

  it('upsamples a coarse map so the hot feature voxel lands on its block', () => {
    const cam = new Float32Array(8);
    cam[7] = 1; // feature voxel (x=1, y=1, z=1) of a 2×2×2 grid covers grid voxels 2..3 on each axis
    const out = camToScan({
      cam,
      camDims: [2, 2, 2],
      grid: [4, 4, 4],
      gridAffine: I4,
      scanDims: [4, 4, 4],
      scanAffine: I4,
    });
    const at = (i: number, j: number, k: number) => out[i + 4 * (j + 4 * k)];
    expect(at(3, 3, 3)).toBe(1);
    expect(at(0, 0, 0)).toBe(0);
    expect(at(2, 2, 2)).toBeGreaterThan(at(1, 1, 1));
  });

  it('follows the affines: a scan stored left-right flipped gets a flipped map', () => {
    const cam = Float32Array.of(1, 0, 0, 0); // hot at x = 0 on a 1×1×4 grid
    const flip = [-1, 0, 0, 3, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]; // scan voxel i sits at world x = 3 − i
    const out = camToScan({
      cam,
      camDims: [1, 1, 4],
      grid: [4, 1, 1],
      gridAffine: I4,
      scanDims: [4, 1, 1],
      scanAffine: flip,
    });
    expect(Array.from(out)).toEqual([0, 0, 0, 1]);
  });

  it('is zero outside the model grid', () => {
    const cam = Float32Array.of(1, 1);
    const shifted = [1, 0, 0, 5, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    const out = camToScan({
      cam,
      camDims: [1, 1, 2],
      grid: [2, 1, 1],
      gridAffine: I4,
      scanDims: [2, 1, 1],
      scanAffine: shifted,
    });
    expect(Array.from(out)).toEqual([0, 0]);
  });
});

describe('gradCam', () => {
  it('runs end to end on a 3D feature map', () => {
    const fmap = Float32Array.from({ length: 2 * 8 }, (_, i) => (i % 8) / 8);
    const out = gradCam({
      featureMap: fmap,
      featureMapDims: [2, 2, 2, 2],
      channelGrad: [1, 1],
      grid: [4, 4, 4],
      gridAffine: I4,
      scanDims: [4, 4, 4],
      scanAffine: I4,
    });
    expect(Math.max(...out)).toBe(1);
  });

  it('is zero off the brain mask and unchanged on it', () => {
    const fmap = Float32Array.from({ length: 2 * 8 }, (_, i) => 0.1 + (i % 8) / 8);
    const base = {
      featureMap: fmap,
      featureMapDims: [2, 2, 2, 2],
      channelGrad: [1, 1],
      grid: [4, 4, 4],
      gridAffine: I4,
      scanDims: [4, 4, 4],
      scanAffine: I4,
    };
    const gridMask = Uint8Array.from({ length: 64 }, (_, i) => (i % 4 < 2 ? 1 : 0));
    const full = gradCam(base);
    const masked = gradCam({ ...base, gridMask });
    for (let i = 0; i < 64; i++) {
      if (gridMask[i]) expect(masked[i]).toBeGreaterThan(0);
      else expect(masked[i]).toBe(0);
    }
    const onMask = (a: Float32Array) => Array.from(a).filter((_, i) => gridMask[i]);
    const maxOn = Math.max(...onMask(full));
    onMask(masked).forEach((v, n) => expect(v).toBeCloseTo(onMask(full)[n] / maxOn, 6));
  });
});
