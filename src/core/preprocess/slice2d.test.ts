import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { matMul } from './affine.ts';
import { parseNifti } from '../load/nifti.ts';
import {
  displayLabels,
  inputForDisplay,
  middleSliceIndex,
  orientedSlice,
  pictureInput,
  pictureToInput,
  sliceLevels,
  resizeBilinear,
  sliceIndexAt,
  sliceInput,
  trainingSlice,
  type Axis,
  type Convention,
  type Plane,
} from './slice2d.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/slices2d/${name}`, import.meta.url));

/** An 8-bit greyscale, non-interlaced PNG (what PIL writes for the export) as row-major levels. */
function decodeGreyPng(bytes: Uint8Array): { w: number; h: number; levels: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let w = 0,
    h = 0;
  const idat: Uint8Array[] = [];
  for (let at = 8; at < bytes.length;) {
    const len = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const body = bytes.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      [w, h] = [view.getUint32(at + 8), view.getUint32(at + 12)];
      if (body[8] !== 8 || body[9] !== 0 || body[12] !== 0)
        throw new Error('not an 8-bit greyscale, non-interlaced PNG');
    }
    if (type === 'IDAT') idat.push(body);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const levels = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const filter = raw[y * (w + 1)];
    for (let x = 0; x < w; x++) {
      const a = x > 0 ? levels[y * w + x - 1] : 0,
        b = y > 0 ? levels[(y - 1) * w + x] : 0,
        c = x > 0 && y > 0 ? levels[(y - 1) * w + x - 1] : 0;
      const p = a + b - c,
        pa = Math.abs(p - a),
        pb = Math.abs(p - b),
        pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      levels[y * w + x] = raw[y * (w + 1) + 1 + x] + predictor;
    }
  }
  return { w, h, levels };
}

describe('2D model inputs follow the training export (synth/slices2d.py, training/data.py)', () => {
  it('matches the PNGs synth/slices2d.py exported from an oblique, permuted, anisotropic volume', () => {
    // synth/slices2d_fixture.py: voxel i → posterior 1.1 mm, j → left 0.9 mm, k → superior 2.4 mm, turned 6°.
    const { volume } = parseNifti(new Uint8Array(fixture('volume.nii.gz')), 'volume.nii.gz');
    const indices = JSON.parse(fixture('slices.json').toString()) as Record<Plane, number>;
    for (const plane of ['axial', 'sagittal'] as const) {
      const png = decodeGreyPng(new Uint8Array(fixture(`${plane}.png`)));
      expect([png.w, png.h]).toEqual([224, 224]);
      const got = trainingSlice(volume.data, volume.dims, volume.affine, plane, indices[plane]);
      // Exact: trainingSlice repeats numpy 1.24/scipy's float32 steps and half-to-even rounding; a level could
      // only differ where a value lands within float error of a .5.
      expect(Array.from(got)).toEqual(Array.from(png.levels));
      // The model reads it as training/data.py reads the PNG.
      expect(sliceInput(volume.data, volume.dims, volume.affine, plane, indices[plane])).toEqual(pictureToInput(got));
    }
  });

  it('reads a picture like training/data.py: level / 255, turned 180° into the tensor layout', () => {
    // _read_png: px[::-1, ::-1].T as [x, y]; the tensor [y, x] is px[::-1, ::-1].
    expect(Array.from(pictureToInput([0, 51, 102, 255]))).toEqual([1, 0.4, 0.2, 0].map(Math.fround));
    // A 224×224 RGBA picture: PIL's integer luminance (values from PIL's convert("L")), no resampling.
    const colours = [
      [10, 200, 30, 124],
      [255, 0, 0, 76],
      [0, 0, 255, 29],
      [128, 128, 128, 128],
      [1, 2, 3, 2],
      [254, 255, 253, 254],
    ];
    const rgba = new Uint8ClampedArray(224 * 224 * 4);
    const levels = new Uint8Array(224 * 224);
    for (let p = 0; p < levels.length; p++) {
      const [r, g, b, l] = colours[p % colours.length];
      rgba.set([r, g, b, 255], 4 * p);
      levels[p] = l;
    }
    expect(pictureInput(rgba, 224, 224)).toEqual(pictureToInput(levels));
    // Other sizes are resized (bilinear) to the model grid.
    const p = pictureInput(new Uint8ClampedArray([255, 255, 255, 255, 0, 0, 0, 255]), 2, 1, 4);
    expect(p.length).toBe(16);
    expect(p[15]).toBeCloseTo(1, 6);
    expect(p[0]).toBeCloseTo(0, 6);
  });

  it('fits the slice keeping its physical aspect, centred and zero-padded', () => {
    // RAS, 20 × 10 voxels of 1 × 1 mm in the axial plane: 224 wide, 112 high, rows 56..167.
    const flat = orientedVolume([20, 10, 3], [1, 1, 1], () => 5);
    const s = trainingSlice(flat.data, flat.dims, flat.affine, 'axial', 1);
    const row = (r: number) => Array.from(s.subarray(r * 224, (r + 1) * 224));
    for (const r of [0, 55, 168, 223]) expect(row(r)).toEqual(new Array(224).fill(0));
    expect(row(112).slice(6, 218)).toEqual(new Array(212).fill(102)); // all head median: 0.4 · 255
    // The export's zoom blends the outer half source pixel with the zeros outside (grid-constant), like its PNGs.
    for (const v of [row(112)[0], row(112)[223], row(56)[112], row(167)[112]]) {
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(102);
    }
    // An odd padding (224 − 101 rows) puts the extra row at the bottom, like the export's floor division: rows 61..161.
    const odd = orientedVolume([20, 9, 1], [1, 1, 1], () => 5);
    const o = trainingSlice(odd.data, odd.dims, odd.affine, 'axial', 0);
    expect([60, 61, 161, 162].map((r) => o[r * 224 + 112] > 0)).toEqual([false, true, true, false]);
    // Anisotropic voxels: 20 × 0.5 mm by 10 × 1 mm is square, so it fills the picture.
    const square = orientedVolume([20, 10, 3], [0.5, 1, 1], () => 5);
    const q = trainingSlice(square.data, square.dims, square.affine, 'axial', 1);
    // A uniform head is all median: 0.4 · 255 = 102.
    expect(Array.from(q.subarray(112 * 224 + 12, 112 * 224 + 212))).toEqual(new Array(200).fill(102));
    expect(q[112 * 224]).toBeGreaterThan(0);
    expect(q[112]).toBeGreaterThan(0);
  });

  it('maps the head median to 102 and keeps lesions up to 2.5x it unclipped', () => {
    // 10 zero pixels (padding), 10 of dim background, 70 of tissue, 8 of lesion (2x), 2 brighter than 2.5x.
    // The positive pixels' 99th percentile is 400, so the head is above 60: its median is 100 -> 102.
    const parts: [number, number][] = [
      [0, 10],
      [2, 10],
      [100, 70],
      [200, 8],
      [400, 2],
    ];
    const fitted = Float32Array.from(parts.flatMap(([v, n]) => new Array<number>(n).fill(v)));
    const levels = sliceLevels(fitted);
    expect(parts.map(([v]) => levels[fitted.indexOf(v)])).toEqual([0, 2, 102, 204, 255]);
    // (The p99.5 -> 255 rule this replaced put this tissue at 64, under the brightest pixels' scale.)
    expect(sliceLevels(new Float32Array(16))).toEqual(new Uint8Array(16));
  });

  it('keeps the low end of a ramp above 0 (no low window)', () => {
    const ramp = orientedVolume([100, 100, 1], [1, 1, 1], ([x]) => x + 1);
    const s = trainingSlice(ramp.data, ramp.dims, ramp.affine, 'axial', 0);
    const middle = s.subarray(112 * 224, 113 * 224);
    // Radiological: the patient's right (x = 100, brightest) on the left, below 255: 100 < 2.5 x the head median.
    expect(middle[1]).toBeGreaterThan(middle[111]);
    expect(middle[1]).toBeLessThan(255);
    expect(middle[222]).toBeGreaterThan(0);
    expect(middle[222]).toBeLessThan(10);
  });

  describe('orientation: a marker in the right anterior superior corner', () => {
    // The same head stored RAS and stored LPI-permuted (i → left, j → inferior, k → posterior): the export's
    // canonical reorientation makes them the same slices.
    const n = 24;
    const marker = ([x, y, z]: number[]) => (x >= 16 && y >= 16 && z >= 16 ? 200 : 50);
    const stored = [orientedVolume([n, n, n], [1, 1, 1], marker), orientedVolume([n, n, n], [1, 1, 1], marker, true)];
    const quadrant = (v: ArrayLike<number>) => {
      const at = (r: number, c: number) => v[r * 224 + c];
      return { topLeft: at(20, 20), topRight: at(20, 203), bottomLeft: at(203, 20), bottomRight: at(203, 203) };
    };

    for (const vol of stored) {
      const name = vol === stored[0] ? 'RAS' : 'LPI-permuted';
      it(`${name}: the training picture has it top left in both planes (axial radiological, sagittal anterior left)`, () => {
        const world = [20, 20, 20]; // mm = RAS voxel here
        for (const plane of ['axial', 'sagittal'] as const) {
          const index = sliceIndexAt(vol.dims, vol.affine, plane, world);
          expect(index).toBe(20);
          const q = quadrant(trainingSlice(vol.data, vol.dims, vol.affine, plane, index));
          expect(q.topLeft).toBe(255);
          expect([q.topRight, q.bottomLeft, q.bottomRight].every((v) => v > 0 && v < 255)).toBe(true);
          // The tensor's row and column indices grow towards anterior/superior and right/anterior.
          expect(quadrant(sliceInput(vol.data, vol.dims, vol.affine, plane, index)).bottomRight).toBe(1);
        }
        expect(Array.from(trainingSlice(vol.data, vol.dims, vol.affine, 'axial', 20))).toEqual(
          Array.from(trainingSlice(stored[0].data, stored[0].dims, stored[0].affine, 'axial', 20)),
        );
        expect(middleSliceIndex(vol.dims, vol.affine, 'sagittal')).toBe(12);
      });
    }

    it('the model input ignores the display convention; the shown picture follows the viewer', () => {
      const [vol] = stored;
      const axial = sliceInput(vol.data, vol.dims, vol.affine, 'axial', 20);
      expect(displayLabels('axial', 'radiological')).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
      expect(quadrant(inputForDisplay(axial, 'axial', 'radiological')).topLeft).toBe(1);
      expect(displayLabels('axial', 'neurological')).toEqual({ left: 'L', right: 'R', top: 'A', bottom: 'P' });
      expect(quadrant(inputForDisplay(axial, 'axial', 'neurological')).topRight).toBe(1);
      // The viewer shows sagittal slices posterior-left.
      const sagittal = sliceInput(vol.data, vol.dims, vol.affine, 'sagittal', 20);
      expect(displayLabels('sagittal', 'neurological')).toEqual({ left: 'P', right: 'A', top: 'S', bottom: 'I' });
      expect(quadrant(inputForDisplay(sagittal, 'sagittal', 'radiological')).topRight).toBe(1);
      // A dropped picture is shown as it came.
      const levels = Uint8Array.from({ length: 224 * 224 }, (_, p) => p % 251);
      expect(inputForDisplay(pictureToInput(levels), null, 'neurological')).toEqual(
        Float32Array.from(levels, (l) => l / 255),
      );
      expect(displayLabels(null, 'radiological')).toBeNull();
    });
  });

  it('refuses a slice outside the volume', () => {
    const v = orientedVolume([4, 5, 6], [1, 1, 1], () => 1);
    expect(() => trainingSlice(v.data, v.dims, v.affine, 'axial', 6)).toThrow(/axial slice 6 is outside 0..5/);
    expect(sliceIndexAt(v.dims, v.affine, 'sagittal', [99, 0, 0])).toBe(3);
  });

  it('resizes bilinearly and keeps a constant image constant', () => {
    expect(Array.from(resizeBilinear(Float32Array.of(5, 5, 5, 5), 2, 2, 3, 3))).toEqual(new Array(9).fill(5));
    const up = resizeBilinear(Float32Array.of(0, 1), 2, 1, 4, 1);
    expect(Array.from(up)).toEqual([0, 0.25, 0.75, 1]);
  });
});

/**
 * A volume whose voxel at RAS index (x, y, z) (spacing in mm along x, y, z) holds value([x, y, z]); stored
 * RAS, or (lpiPermuted) with voxel axes i → left, j → inferior, k → posterior.
 */
function orientedVolume(
  size: [number, number, number],
  spacing: [number, number, number],
  value: (ras: number[]) => number,
  lpiPermuted = false,
) {
  const [nx, ny, nz] = size;
  const [sx, sy, sz] = spacing;
  if (!lpiPermuted) {
    const data = new Float32Array(nx * ny * nz);
    for (let z = 0; z < nz; z++)
      for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) data[x + nx * (y + ny * z)] = value([x, y, z]);
    return { dims: size, affine: [sx, 0, 0, 0, 0, sy, 0, 0, 0, 0, sz, 0, 0, 0, 0, 1], data };
  }
  // i = nx-1-x, j = nz-1-z, k = ny-1-y; world = RAS index × spacing.
  const dims: [number, number, number] = [nx, nz, ny];
  const data = new Float32Array(nx * ny * nz);
  for (let k = 0; k < ny; k++)
    for (let j = 0; j < nz; j++)
      for (let i = 0; i < nx; i++) data[i + nx * (j + nz * k)] = value([nx - 1 - i, ny - 1 - k, nz - 1 - j]);
  const affine = [-sx, 0, 0, sx * (nx - 1), 0, 0, -sy, sy * (ny - 1), 0, -sz, 0, sz * (nz - 1), 0, 0, 0, 1];
  return { dims, affine, data };
}

describe('report slices oriented like the viewer (orientedSlice)', () => {
  // 5×4×3 voxels whose axes are permuted and flipped against RAS: i → posterior (2 mm),
  // j → superior (3 mm), k → left (1.5 mm). Each voxel holds its own linear index.
  const dims = [5, 4, 3];
  const permuted = [0, 0, -1.5, 10, -2, 0, 0, 20, 0, 3, 0, 30, 0, 0, 0, 1];
  const data = Float32Array.from({ length: 60 }, (_, s) => s);
  const voxelOf = (s: number) => [s % 5, Math.floor(s / 5) % 4, Math.floor(s / 20)];
  const world = (m: number[], [i, j, k]: number[]) =>
    [0, 1, 2].map((r) => m[r * 4] * i + m[r * 4 + 1] * j + m[r * 4 + 2] * k + m[r * 4 + 3]);
  // 8° about the x axis: oblique, but each voxel axis stays closest to the same world axis.
  const t = (8 * Math.PI) / 180;
  const rotX = [1, 0, 0, 0, 0, Math.cos(t), -Math.sin(t), 0, 0, Math.sin(t), Math.cos(t), 0, 0, 0, 0, 1];
  const oblique = matMul(rotX, permuted);
  const at = [1, 2, 1];

  const cases: { axis: Axis; convention: Convention; h: number; v: number; hSign: number; labels: string }[] = [
    { axis: 2, convention: 'radiological', h: 0, v: 1, hSign: -1, labels: 'R L A P' },
    { axis: 2, convention: 'neurological', h: 0, v: 1, hSign: 1, labels: 'L R A P' },
    { axis: 1, convention: 'radiological', h: 0, v: 2, hSign: -1, labels: 'R L S I' },
    { axis: 0, convention: 'radiological', h: 1, v: 2, hSign: 1, labels: 'P A S I' },
  ];

  for (const affine of [permuted, oblique]) {
    for (const c of cases) {
      it(`${affine === permuted ? 'permuted' : 'oblique'} volume, world axis ${c.axis}, ${c.convention}: ${c.labels}`, () => {
        const s = orientedSlice(data, dims, affine, c.axis, at, c.convention);
        expect(`${s.labels.left} ${s.labels.right} ${s.labels.top} ${s.labels.bottom}`).toBe(c.labels);
        expect(s.values.length).toBe(s.w * s.h);
        const pos = (u: number, v: number) => world(affine, voxelOf(s.values[v * s.w + u]));
        for (let v = 0; v < s.h; v++) {
          for (let u = 0; u < s.w; u++) {
            // The cut: every pixel shares the `at` voxel's index along the voxel axis nearest the cut's normal.
            const vox = voxelOf(s.values[v * s.w + u]);
            const normalVoxelAxis = [2, 0, 1][c.axis]; // x ← k, y ← i, z ← j in this volume
            expect(vox[normalVoxelAxis]).toBe(at[normalVoxelAxis]);
            // Left → right along the horizontal world axis, top → bottom down the vertical one.
            if (u > 0) expect(Math.sign(pos(u, v)[c.h] - pos(u - 1, v)[c.h])).toBe(c.hSign);
            if (v > 0) expect(pos(u, v)[c.v]).toBeLessThan(pos(u, v - 1)[c.v]);
          }
        }
        const voxelSizes = [1.5, 2, 3]; // along world x, y, z
        expect(s.pixelMm[0]).toBeCloseTo(voxelSizes[c.h], 6);
        expect(s.pixelMm[1]).toBeCloseTo(voxelSizes[c.v], 6);
        // The slice goes through the requested voxel.
        expect(Array.from(s.values)).toContain(at[0] + 5 * (at[1] + 4 * at[2]));
      });
    }
  }

  it('shows an oblique scan like the viewer: its voxels, not resampled', () => {
    for (const c of cases) {
      expect(Array.from(orientedSlice(data, dims, oblique, c.axis, at, c.convention).values)).toEqual(
        Array.from(orientedSlice(data, dims, permuted, c.axis, at, c.convention).values),
      );
    }
  });

  it('refuses a voxel outside the volume', () => {
    expect(() => orientedSlice(data, dims, permuted, 2, [0, 9, 0], 'radiological')).toThrow(/outside/);
  });
});
