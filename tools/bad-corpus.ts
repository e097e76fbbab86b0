/** The bad-input corpus as data: each file's bytes, the ScanError code it must raise, and a phrase the page must show. */
import { gzipSync } from 'fflate';
import type { Volume } from '../src/core/volume.ts';
import type { ScanErrorCode } from '../src/core/load/scan-error.ts';
import { writeNifti } from '../src/core/load/nifti-write.ts';

export interface BadFile {
  name: string;
  code: ScanErrorCode;
  /** A phrase of the error message the user must see (case-insensitive). */
  expect: string;
  bytes: Uint8Array;
}

/** A small float32 volume with a bright centre, so any accidental render is visible. */
function smallVolume(dims: [number, number, number] = [24, 20, 16]): Volume {
  const [nx, ny, nz] = dims;
  const data = new Float32Array(nx * ny * nz);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const r = Math.hypot((i - nx / 2) / nx, (j - ny / 2) / ny, (k - nz / 2) / nz);
        data[i + nx * (j + ny * k)] = r < 0.4 ? 100 * (1 - r) : 0;
      }
  return {
    dims,
    spacing: [1, 1, 1],
    affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    datatype: 'float32',
    data,
  };
}

/** A valid .nii with header edits applied through a little-endian DataView. */
function patched(edit: (dv: DataView, bytes: Uint8Array) => void, vol = smallVolume()): Uint8Array {
  const bytes = writeNifti(vol);
  edit(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes);
  return bytes;
}

/** A valid header declaring `dims` (up to 7) followed by the right amount of zero data. */
function withDims(dims: number[], dataVoxels = dims.reduce((a, b) => a * Math.max(b, 0), 1)): Uint8Array {
  const head = writeNifti(smallVolume([2, 2, 2])).subarray(0, 352);
  const bytes = new Uint8Array(352 + 4 * dataVoxels);
  bytes.set(head);
  const dv = new DataView(bytes.buffer);
  for (let k = 0; k < 8; k++) dv.setInt16(40 + 2 * k, k === 0 ? dims.length : (dims[k - 1] ?? 1), true);
  return bytes;
}

export function badCorpus(): BadFile[] {
  const good = writeNifti(smallVolume(), { gzip: true });
  const nan = smallVolume();
  nan.data[100] = NaN;
  const inf = smallVolume();
  inf.data[7] = Infinity;
  const corrupt = good.slice();
  // Flip bits well inside the deflate stream: decodes to wrong bytes or fails, never silently right.
  for (let i = 0; i < 16; i++) corrupt[Math.floor(good.length / 2) + i] ^= 0x5a;

  return [
    {
      name: 'not-a-scan.txt',
      code: 'not-nifti',
      expect: 'neither a NIfTI',
      bytes: new TextEncoder().encode('patient notes, not an image\n'.repeat(40)),
    },
    {
      name: 'truncated.nii.gz',
      code: 'gzip-truncated',
      expect: 'truncated',
      bytes: good.slice(0, Math.floor(good.length / 2)),
    },
    { name: 'corrupted.nii.gz', code: 'gzip-corrupt', expect: 'corrupted', bytes: corrupt },
    {
      name: 'wrong-magic.nii',
      code: 'wrong-magic',
      expect: 'wrong NIfTI-1 magic',
      bytes: patched((_, b) => b.set([0x78, 0x79, 0x7a, 0], 344)),
    },
    { name: 'slice-2d.nii', code: 'dims-2d', expect: '2D image', bytes: writeNifti(smallVolume([32, 32, 1])) },
    {
      name: 'fmri-4d.nii.gz',
      code: 'dims-multivolume',
      expect: 'first volume',
      bytes: gzipSync(withDims([12, 10, 8, 3])),
    },
    { name: 'dwi-5d.nii', code: 'dims-multivolume', expect: 'first volume', bytes: withDims([12, 10, 8, 1, 2]) },
    { name: 'zero-dim.nii', code: 'dims-invalid', expect: 'dimension 2 is 0', bytes: withDims([12, 0, 8], 0) },
    { name: 'negative-dim.nii', code: 'dims-invalid', expect: 'dimension 3 is -5', bytes: withDims([12, 10, -5], 0) },
    { name: 'nan-voxels.nii', code: 'non-finite', expect: 'NaN or infinite', bytes: writeNifti(nan) },
    { name: 'inf-voxels.nii', code: 'non-finite', expect: 'NaN or infinite', bytes: writeNifti(inf) },
    {
      name: 'size-mismatch.nii',
      code: 'size-mismatch',
      expect: 'but the file holds',
      bytes: writeNifti(smallVolume()).slice(0, 352 + 1000),
    },
    {
      name: 'voxel-size-zero.nii',
      code: 'voxel-size',
      expect: 'voxel size',
      bytes: patched((dv) => dv.setFloat32(80, 0, true)),
    },
    {
      name: 'voxel-size-absurd.nii',
      code: 'voxel-size',
      expect: 'voxel size',
      bytes: patched((dv) => dv.setFloat32(88, 900, true)),
    },
    { name: 'too-large.nii', code: 'too-large', expect: 'over the limit', bytes: withDims([1024, 1024, 512], 0) },
    {
      name: 'complex-datatype.nii',
      code: 'unsupported-datatype',
      expect: 'complex64',
      bytes: patched((dv) => dv.setInt16(70, 32, true)),
    },
  ];
}
