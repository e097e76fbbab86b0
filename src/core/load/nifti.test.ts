import { describe, expect, it } from 'vitest';
import { gzipSync } from 'fflate';
import type { Volume } from '../volume.ts';
import { parseNifti } from './nifti.ts';
import { writeNifti } from './nifti-write.ts';
import { ScanError } from './scan-error.ts';
import { matToQuatern } from './affine.ts';
import { MAX_VOXELS } from './limits.ts';
import { gunzipChecked } from './gzip.ts';

const RAS = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

function ramp(dims: [number, number, number], affine = RAS, spacing: [number, number, number] = [1, 1, 1]): Volume {
  const n = dims[0] * dims[1] * dims[2];
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (i % 97) * 1.5 - 20;
  return { dims, spacing, affine, datatype: 'float32', data };
}

/** An oblique, anisotropic, left-right-flipped affine like a clinical scan's. */
function clinicalAffine(): number[] {
  const t = 0.3;
  const c = Math.cos(t),
    s = Math.sin(t);
  return [-0.9 * c, 0, 4 * s, 100, 0, 0.9, 0, -120, 0.9 * s, 0, 4 * c, -30, 0, 0, 0, 1];
}

/** Test-only writer for layouts writeNifti does not produce: NIfTI-2 and big-endian, float32 data. */
function buildRaw(vol: Volume, version: 1 | 2, le: boolean, { sform = true, qform = true } = {}): Uint8Array {
  const hdrSize = version === 1 ? 352 : 544;
  const n = vol.data.length;
  const out = new Uint8Array(hdrSize + 4 * n);
  const dv = new DataView(out.buffer);
  const q = matToQuatern(vol.affine);
  const dims = [3, ...vol.dims, 1, 1, 1, 1];
  const pix = [q.qfac, ...vol.spacing, 0, 0, 0, 0];
  if (version === 1) {
    dv.setInt32(0, 348, le);
    dims.forEach((d, k) => dv.setInt16(40 + 2 * k, d, le));
    dv.setInt16(70, 16, le);
    dv.setInt16(72, 32, le);
    pix.forEach((p, k) => dv.setFloat32(76 + 4 * k, p, le));
    dv.setFloat32(108, hdrSize, le);
    dv.setFloat32(112, 1, le);
    out[123] = 2;
    dv.setInt16(252, qform ? 1 : 0, le);
    dv.setInt16(254, sform ? 1 : 0, le);
    [q.b, q.c, q.d, q.qx, q.qy, q.qz].forEach((v, k) => dv.setFloat32(256 + 4 * k, v, le));
    for (let k = 0; k < 12; k++) dv.setFloat32(280 + 4 * k, vol.affine[k], le);
    out.set([0x6e, 0x2b, 0x31, 0], 344);
  } else {
    dv.setInt32(0, 540, le);
    out.set([0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a], 4);
    dv.setInt16(12, 16, le);
    dv.setInt16(14, 32, le);
    dims.forEach((d, k) => dv.setBigInt64(16 + 8 * k, BigInt(d), le));
    pix.forEach((p, k) => dv.setFloat64(104 + 8 * k, p, le));
    dv.setBigInt64(168, BigInt(hdrSize), le);
    dv.setFloat64(176, 1, le);
    dv.setInt32(344, qform ? 1 : 0, le);
    dv.setInt32(348, sform ? 1 : 0, le);
    [q.b, q.c, q.d, q.qx, q.qy, q.qz].forEach((v, k) => dv.setFloat64(352 + 8 * k, v, le));
    for (let k = 0; k < 12; k++) dv.setFloat64(400 + 8 * k, vol.affine[k], le);
    dv.setInt32(500, 2, le);
    new TextEncoder().encodeInto('nifti2 test', out.subarray(240, 320));
  }
  for (let i = 0; i < n; i++) dv.setFloat32(hdrSize + 4 * i, vol.data[i], le);
  return out;
}

function expectScanError(fn: () => unknown, code: string, phrase?: string): ScanError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ScanError);
    const err = e as ScanError;
    expect(err.code).toBe(code);
    if (phrase) expect(err.message.toLowerCase()).toContain(phrase.toLowerCase());
    return err;
  }
  throw new Error(`expected ScanError ${code}, nothing was thrown`);
}

describe('parseNifti: reading', () => {
  it('round-trips float32 .nii and .nii.gz through writeNifti', () => {
    const vol = ramp([13, 11, 7], clinicalAffine(), [0.9, 0.9, 4]);
    for (const gzip of [false, true]) {
      const { volume, info } = parseNifti(
        writeNifti(vol, { gzip, description: 'round trip' }),
        gzip ? 'a.nii.gz' : 'a.nii',
      );
      expect(volume.dims).toEqual([13, 11, 7]);
      expect(Array.from(volume.data)).toEqual(Array.from(vol.data));
      volume.affine.forEach((v, i) => expect(v).toBeCloseTo(vol.affine[i], 5));
      volume.spacing.forEach((v, i) => expect(v).toBeCloseTo(vol.spacing[i], 6));
      expect(info).toMatchObject({
        format: 'NIfTI-1',
        datatype: 'float32',
        description: 'round trip',
        affineSource: 'sform',
        orientation: 'LAS',
      });
      expect(info.intensityRange).toEqual([-20, 96 * 1.5 - 20]);
    }
  });

  it.each(['uint8', 'int16', 'uint16'] as const)('stores integer %s data exactly and scales the rest', (datatype) => {
    const ints = ramp([8, 8, 8]);
    ints.data = ints.data.map((v) => Math.max(0, Math.round(v)));
    const back = parseNifti(writeNifti(ints, { datatype }), 'i.nii');
    expect(back.volume.datatype).toBe(datatype);
    expect(Array.from(back.volume.data)).toEqual(Array.from(ints.data));

    const floats = ramp([8, 8, 8]);
    floats.data = floats.data.map((v) => v * 10.37);
    const scaled = parseNifti(writeNifti(floats, { datatype }), 's.nii').volume.data;
    const range = 96 * 1.5 * 10.37;
    const step = range / (datatype === 'uint8' ? 255 : 65535);
    scaled.forEach((v, i) => expect(Math.abs(v - floats.data[i])).toBeLessThanOrEqual(step * 0.51 + 1e-3));
  });

  it.each([
    ['int8', 256, 1],
    ['int32', 8, 4],
    ['uint32', 768, 4],
    ['float64', 64, 8],
  ] as const)('reads %s voxels in both byte orders', (name, code, size) => {
    const values = [-3, 0, 7, 100, 1, 2, 3, 4].map((v) => (name === 'uint32' ? Math.abs(v) : v));
    for (const le of [true, false]) {
      const bytes = writeNifti(ramp([2, 2, 2])).slice(0, 352);
      const file = new Uint8Array(352 + 8 * size);
      file.set(bytes);
      const dv = new DataView(file.buffer);
      if (!le) {
        // Re-write the fields this reader needs in big-endian order.
        dv.setInt32(0, 348, false);
        [3, 2, 2, 2, 1, 1, 1, 1].forEach((d, k) => dv.setInt16(40 + 2 * k, d, false));
        [1, 1, 1, 1, 0, 0, 0, 0].forEach((p, k) => dv.setFloat32(76 + 4 * k, p, false));
        dv.setFloat32(108, 352, false);
        dv.setFloat32(112, 1, false);
        dv.setFloat32(116, 0, false);
        dv.setInt16(252, 0, false);
        dv.setInt16(254, 0, false);
      }
      dv.setInt16(70, code, le);
      dv.setInt16(72, size * 8, le);
      values.forEach((v, i) => {
        const o = 352 + i * size;
        if (name === 'int8') dv.setInt8(o, v);
        else if (name === 'int32') dv.setInt32(o, v, le);
        else if (name === 'uint32') dv.setUint32(o, v, le);
        else dv.setFloat64(o, v + 0.25, le);
      });
      const { volume } = parseNifti(file, 'd.nii');
      expect(volume.datatype).toBe(name);
      expect(Array.from(volume.data)).toEqual(values.map((v) => (name === 'float64' ? v + 0.25 : v)));
    }
  });

  it('reduces RGB24 to luminance', () => {
    const file = new Uint8Array(352 + 8 * 3);
    file.set(writeNifti(ramp([2, 2, 2])).slice(0, 352));
    const dv = new DataView(file.buffer);
    dv.setInt16(70, 128, true);
    dv.setInt16(72, 24, true);
    file.set([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 10, 10], 352);
    const { volume } = parseNifti(file, 'rgb.nii');
    expect(volume.datatype).toBe('rgb24');
    [0.299 * 255, 0.587 * 255, 0.114 * 255, 10].forEach((v, i) => expect(volume.data[i]).toBeCloseTo(v, 3));
  });

  it('reads big-endian NIfTI-1 and both byte orders of NIfTI-2', () => {
    const vol = ramp([9, 8, 7], clinicalAffine(), [0.9, 0.9, 4]);
    for (const [version, le] of [
      [1, false],
      [2, true],
      [2, false],
    ] as const) {
      const { volume, info } = parseNifti(buildRaw(vol, version, le), 'x.nii');
      expect(info.format).toBe(version === 1 ? 'NIfTI-1' : 'NIfTI-2');
      expect(Array.from(volume.data)).toEqual(Array.from(vol.data));
      volume.affine.forEach((v, i) => expect(v).toBeCloseTo(vol.affine[i], 5));
      if (version === 2) expect(info.description).toBe('nifti2 test');
    }
  });

  it('uses the qform when no sform is set, and voxel sizes when neither is', () => {
    const vol = ramp([6, 5, 4], clinicalAffine(), [0.9, 0.9, 4]);
    const q = parseNifti(buildRaw(vol, 1, true, { sform: false }), 'q.nii');
    expect(q.info.affineSource).toBe('qform');
    q.volume.affine.forEach((v, i) => expect(v).toBeCloseTo(vol.affine[i], 4));
    const none = parseNifti(buildRaw(vol, 1, true, { sform: false, qform: false }), 'n.nii');
    expect(none.info.affineSource).toBe('pixdim');
    expect(none.volume.affine).toEqual([0.9, 0, 0, 0, 0, 0.9, 0, 0, 0, 0, 4, 0, 0, 0, 0, 1].map((v) => Math.fround(v)));
  });

  it('applies scl_slope and scl_inter', () => {
    const bytes = writeNifti(ramp([4, 4, 4]));
    const dv = new DataView(bytes.buffer);
    dv.setFloat32(112, 2, true);
    dv.setFloat32(116, 5, true);
    const { volume } = parseNifti(bytes, 's.nii');
    expect(volume.data[1]).toBeCloseTo(2 * (1.5 - 20) + 5, 5);
  });

  it('converts metre units to millimetres', () => {
    const bytes = writeNifti(
      ramp([4, 4, 4], [0.001, 0, 0, 0, 0, 0.001, 0, 0, 0, 0, 0.002, 0, 0, 0, 0, 1], [0.001, 0.001, 0.002]),
    );
    bytes[123] = 1;
    const { volume } = parseNifti(bytes, 'm.nii');
    volume.spacing.forEach((v, i) => expect(v).toBeCloseTo([1, 1, 2][i], 5));
    expect(volume.affine[10]).toBeCloseTo(2, 5);
  });

  it('takes the first volume of a 4D file on request', () => {
    const vol = ramp([5, 4, 3]);
    const one = writeNifti(vol);
    const two = new Uint8Array(one.length + vol.data.length * 4);
    two.set(one);
    new DataView(two.buffer).setInt16(40, 4, true);
    new DataView(two.buffer).setInt16(48, 2, true);
    const err = expectScanError(() => parseNifti(two, 'fmri.nii'), 'dims-multivolume', '2 volumes');
    expect(err.options.canTakeFirstVolume).toBe(true);
    const first = parseNifti(two, 'fmri.nii', { firstVolumeOnly: true });
    expect(Array.from(first.volume.data)).toEqual(Array.from(vol.data));
    expect(first.info).toMatchObject({ fileDims: [5, 4, 3, 2], tookFirstVolume: true });
  });

  it('detects the sequence from the file name', () => {
    expect(parseNifti(writeNifti(ramp([4, 4, 4])), 'sub-01_FLAIR.nii').info.sequence.sequence).toBe('FLAIR');
  });
});

describe('parseNifti: rejecting bad input', () => {
  const ok = () => writeNifti(ramp([8, 6, 4]));
  const edit = (f: (dv: DataView, b: Uint8Array) => void) => {
    const b = ok();
    f(new DataView(b.buffer), b);
    return b;
  };

  it('not NIfTI, DICOM, empty', () => {
    expectScanError(
      () => parseNifti(new TextEncoder().encode('hello world, not an image at all'), 'a.txt'),
      'not-nifti',
      'neither a NIfTI',
    );
    expectScanError(() => parseNifti(new Uint8Array(0), 'empty.nii'), 'not-nifti');
    expectScanError(
      () => parseNifti(gzipSync(new TextEncoder().encode('just text')), 'x.gz'),
      'not-nifti',
      'gzip file that does not contain',
    );
    const dcm = new Uint8Array(300);
    dcm.set([0x44, 0x49, 0x43, 0x4d], 128);
    expectScanError(() => parseNifti(dcm, 'IM0001'), 'dicom-file', 'DICOM');
  });

  it('truncated and corrupted gzip', () => {
    const gz = writeNifti(ramp([20, 20, 20]), { gzip: true });
    expectScanError(() => parseNifti(gz.slice(0, gz.length - 40), 't.nii.gz'), 'gzip-truncated', 'truncated');
    expectScanError(() => parseNifti(gz.slice(0, 12), 't.nii.gz'), 'gzip-truncated', 'truncated');
    const bad = gz.slice();
    bad[bad.length - 6] ^= 0xff; // CRC byte in the trailer
    expectScanError(() => parseNifti(bad, 'c.nii.gz'), 'gzip-corrupt', 'corrupted');
    const worse = gz.slice();
    for (let i = 20; i < 40; i++) worse[i] ^= 0xa5;
    expectScanError(() => parseNifti(worse, 'c.nii.gz'), 'gzip-corrupt', 'corrupted');
  });

  it('wrong magic, ANALYZE pair, truncated header', () => {
    expectScanError(
      () =>
        parseNifti(
          edit((_, b) => b.set([0x61, 0x62, 0x63, 0], 344)),
          'm.nii',
        ),
      'wrong-magic',
      '"abc"',
    );
    expectScanError(
      () =>
        parseNifti(
          edit((_, b) => b.set([0x6e, 0x69, 0x31, 0], 344)),
          'p.hdr',
        ),
      'analyze-pair',
      '.hdr/.img',
    );
    expectScanError(() => parseNifti(ok().slice(0, 200), 'h.nii'), 'header-truncated', '200 of 348');
  });

  it('2D, zero, negative and out-of-range dimensions', () => {
    expectScanError(() => parseNifti(writeNifti(ramp([16, 16, 1])), 's.nii'), 'dims-2d', '16×16×1');
    expectScanError(
      () =>
        parseNifti(
          edit((dv) => dv.setInt16(40, 2, true)),
          's.nii',
        ),
      'dims-2d',
    );
    expectScanError(
      () =>
        parseNifti(
          edit((dv) => dv.setInt16(44, 0, true)),
          'z.nii',
        ),
      'dims-invalid',
      'dimension 2 is 0',
    );
    expectScanError(
      () =>
        parseNifti(
          edit((dv) => dv.setInt16(46, -3, true)),
          'n.nii',
        ),
      'dims-invalid',
      'dimension 3 is -3',
    );
    expectScanError(
      () =>
        parseNifti(
          edit((dv) => dv.setInt16(40, 9, true)),
          'd.nii',
        ),
      'dims-invalid',
      'dim[0] = 9',
    );
  });

  it('4D and 5D files offer the first volume', () => {
    const err4 = expectScanError(
      () =>
        parseNifti(
          edit((dv) => {
            dv.setInt16(40, 4, true);
            dv.setInt16(48, 3, true);
          }),
          'f.nii',
        ),
      'dims-multivolume',
      '3 volumes',
    );
    expect(err4.options.canTakeFirstVolume).toBe(true);
    expectScanError(
      () =>
        parseNifti(
          edit((dv) => {
            dv.setInt16(40, 5, true);
            dv.setInt16(48, 1, true);
            dv.setInt16(50, 2, true);
          }),
          'f.nii',
        ),
      'dims-multivolume',
      '5D',
    );
  });

  it('a 4D header with a single volume is a plain 3D scan', () => {
    expect(
      parseNifti(
        edit((dv) => {
          dv.setInt16(40, 4, true);
          dv.setInt16(48, 1, true);
        }),
        'f.nii',
      ).volume.dims,
    ).toEqual([8, 6, 4]);
  });

  it('NaN and Inf voxels, also through scaling', () => {
    const nan = ramp([8, 6, 4]);
    nan.data[5] = NaN;
    expectScanError(() => parseNifti(writeNifti(nan), 'n.nii'), 'non-finite', 'first at index 5');
    const inf = ramp([8, 6, 4]);
    inf.data[9] = -Infinity;
    expectScanError(() => parseNifti(writeNifti(inf), 'i.nii'), 'non-finite', '1 voxel(s)');
    expectScanError(
      () =>
        parseNifti(
          edit((dv) => dv.setFloat32(112, 3e38, true)),
          'o.nii',
        ),
      'non-finite',
    );
  });

  it('header/data size mismatch both ways, bad vox_offset', () => {
    const b = ok();
    expectScanError(() => parseNifti(b.slice(0, b.length - 4), 's.nii'), 'size-mismatch', 'truncated?');
    const longer = new Uint8Array(b.length + 64);
    longer.set(b);
    expectScanError(() => parseNifti(longer, 'l.nii'), 'size-mismatch', 'but the file holds');
    expectScanError(
      () =>
        parseNifti(
          edit((dv) => dv.setFloat32(108, 100, true)),
          'v.nii',
        ),
      'size-mismatch',
      'vox_offset = 100',
    );
  });

  it('absurd voxel sizes', () => {
    expectScanError(
      () =>
        parseNifti(
          edit((dv) => dv.setFloat32(80, 0, true)),
          'v.nii',
        ),
      'voxel-size',
      'voxel size x = 0 mm',
    );
    expectScanError(
      () =>
        parseNifti(
          edit((dv) => dv.setFloat32(84, 200, true)),
          'v.nii',
        ),
      'voxel-size',
      'y = 200 mm',
    );
    expectScanError(
      () =>
        parseNifti(
          edit((dv) => dv.setFloat32(88, NaN, true)),
          'v.nii',
        ),
      'voxel-size',
    );
    expectScanError(
      () =>
        parseNifti(
          edit((dv) => dv.setFloat32(80, 0.001, true)),
          'v.nii',
        ),
      'voxel-size',
    );
  });

  it('singular affine', () => {
    expectScanError(
      () =>
        parseNifti(
          edit((dv) => {
            for (let k = 0; k < 12; k++) dv.setFloat32(280 + 4 * k, 0, true);
          }),
          'a.nii',
        ),
      'bad-affine',
      'sform',
    );
  });

  it('unsupported datatypes name the type', () => {
    expectScanError(
      () =>
        parseNifti(
          edit((dv) => dv.setInt16(70, 1792, true)),
          'c.nii',
        ),
      'unsupported-datatype',
      'complex128',
    );
  });

  it('too large: states the voxel limit, from the header or the gzip trailer', () => {
    const huge = edit((dv) => {
      dv.setInt16(42, 1024, true);
      dv.setInt16(44, 1024, true);
      dv.setInt16(46, 128, true);
    });
    expectScanError(() => parseNifti(huge, 'big.nii'), 'too-large', MAX_VOXELS.toLocaleString('en-US'));
    const zeros = gzipSync(new Uint8Array(3 * 2 ** 20));
    expect(() => gunzipChecked(zeros, 'big.nii.gz', 2 ** 20)).toThrow(/decompresses to more than 1.0 MiB/);
    expectScanError(() => gunzipChecked(zeros, 'big.nii.gz', 2 ** 20), 'too-large');
    expect(gunzipChecked(zeros, 'ok.nii.gz', 4 * 2 ** 20).length).toBe(3 * 2 ** 20);
  });
});
