/** NIfTI-1/NIfTI-2 reader (.nii, .nii.gz): bytes → validated Volume plus what the header panel shows. */
import type { Volume, VoxelType } from '../volume.ts';
import { ScanError } from './scan-error.ts';
import { gunzipChecked, isGzip } from './gzip.ts';
import { isDicom, readNiftiHeader, type NiftiHeader } from './nifti-header.ts';
import { NIFTI_DATATYPES, UNSUPPORTED_NAMES, decodeVoxels } from './datatypes.ts';
import { isUsableAffine, orientationCode, quaternToMat, scaleMat, type Mat4 } from './affine.ts';
import { MAX_VOXELS, MAX_VOXEL_MM, MIN_VOXEL_MM, formatBytes } from './limits.ts';
import { detectSequence, type SequenceDetection } from './sequence.ts';
import type { AcquisitionTimes } from '../guard/sequence-acquisition.ts';

export interface ScanInfo {
  fileName: string;
  format: 'NIfTI-1' | 'NIfTI-2';
  /** Every dimension the file declares (dim[1..dim[0]]), e.g. [256, 256, 180, 4]. */
  fileDims: number[];
  /** True when a 4D/5D file was reduced to its first volume on request. */
  tookFirstVolume: boolean;
  orientation: string;
  affineSource: 'sform' | 'qform' | 'pixdim';
  datatype: VoxelType;
  intensityRange: [number, number];
  description: string;
  sequence: SequenceDetection;
  /** A converted DICOM series' echo, repetition and inversion times, which the guard reads the sequence from too. */
  acquisition?: AcquisitionTimes;
}

export interface LoadedScan {
  volume: Volume;
  info: ScanInfo;
}

export interface ParseOptions {
  /** Accept a 4D/5D file by keeping only its first 3D volume. */
  firstVolumeOnly?: boolean;
}

const UNIT_TO_MM: Record<number, number> = { 0: 1, 1: 1000, 2: 1, 3: 0.001 };

/** Reads a .nii or .nii.gz file; every rejection is a ScanError whose message names the problem. */
export function parseNifti(bytes: Uint8Array, fileName = 'scan.nii', opts: ParseOptions = {}): LoadedScan {
  if (isDicom(bytes)) {
    throw new ScanError(
      'dicom-file',
      `${fileName}: this is a DICOM file; drop the whole series (folder or files) to convert it.`,
    );
  }
  const raw = isGzip(bytes) ? gunzipChecked(bytes, fileName) : bytes;
  let hdr: NiftiHeader;
  try {
    hdr = readNiftiHeader(raw, fileName);
  } catch (e) {
    if (e instanceof ScanError && e.code === 'not-nifti') {
      const what = isGzip(bytes)
        ? 'a gzip file that does not contain a NIfTI image'
        : 'neither a NIfTI (.nii, .nii.gz) nor a DICOM file';
      throw new ScanError('not-nifti', `${fileName}: ${what}.`);
    }
    throw e;
  }
  const spatial = checkDims(hdr, fileName, opts);
  const type = checkDatatype(hdr, fileName);
  const unit = UNIT_TO_MM[hdr.xyztUnits & 7] ?? 1;
  const spacing = checkSpacing(hdr, unit, fileName);
  const nvox = spatial[0] * spatial[1] * spatial[2];
  if (nvox > MAX_VOXELS) {
    throw new ScanError(
      'too-large',
      `${fileName}: ${spatial.join('×')} = ${nvox.toLocaleString('en-US')} voxels is over the limit of ${MAX_VOXELS.toLocaleString('en-US')} voxels (${formatBytes(MAX_VOXELS * 4)} as float32).`,
    );
  }
  const bytesPer = NIFTI_DATATYPES[hdr.datatypeCode].bytes;
  checkSize(hdr, raw.length, bytesPer, fileName);
  const { affine, source } = pickAffine(hdr, spacing, unit, fileName);

  // NIfTI: scl_slope 0 means "not scaled" (then scl_inter is ignored too); NaN is treated the same.
  const scaled = Number.isFinite(hdr.sclSlope) && hdr.sclSlope !== 0;
  const slope = scaled ? hdr.sclSlope : 1;
  const inter = scaled && Number.isFinite(hdr.sclInter) ? hdr.sclInter : 0;
  const data = decodeVoxels(raw, hdr.voxOffset, nvox, type, hdr.littleEndian, slope, inter);
  const intensityRange = checkFinite(data, fileName);

  const fileDims = hdr.dim.slice(1, 1 + hdr.dim[0]);
  return {
    volume: { dims: spatial, spacing, affine, datatype: type, data },
    info: {
      fileName,
      format: hdr.version === 1 ? 'NIfTI-1' : 'NIfTI-2',
      fileDims,
      tookFirstVolume: fileDims.slice(3).some((d) => d > 1),
      orientation: orientationCode(affine),
      affineSource: source,
      datatype: type,
      intensityRange,
      description: hdr.descrip,
      sequence: detectSequence({ fileName, description: hdr.descrip }),
    },
  };
}

function checkDims(hdr: NiftiHeader, fileName: string, opts: ParseOptions): [number, number, number] {
  const nd = hdr.dim[0];
  if (!Number.isInteger(nd) || nd < 1 || nd > 7) {
    throw new ScanError(
      'dims-invalid',
      `${fileName}: dim[0] = ${nd} is not a number of dimensions (1–7); the header is damaged.`,
    );
  }
  for (let k = 1; k <= nd; k++) {
    if (hdr.dim[k] <= 0) {
      throw new ScanError(
        'dims-invalid',
        `${fileName}: dimension ${k} is ${hdr.dim[k]}; every dimension must be at least 1.`,
      );
    }
  }
  const spatial = [1, 2, 3].map((k) => (k <= nd ? hdr.dim[k] : 1)) as [number, number, number];
  if (spatial.filter((d) => d > 1).length < 3) {
    throw new ScanError('dims-2d', `${fileName}: a 2D image (${spatial.join('×')}); QuMRI needs a 3D volume.`);
  }
  const extra = hdr.dim.slice(4, nd + 1);
  const volumes = extra.reduce((a, b) => a * b, 1);
  if (volumes > 1 && !opts.firstVolumeOnly) {
    throw new ScanError(
      'dims-multivolume',
      `${fileName}: a ${nd}D file (${hdr.dim.slice(1, nd + 1).join('×')}, ${volumes} volumes); QuMRI classifies one 3D volume — load the first volume only?`,
      { canTakeFirstVolume: true },
    );
  }
  return spatial;
}

function checkDatatype(hdr: NiftiHeader, fileName: string): VoxelType {
  const info = NIFTI_DATATYPES[hdr.datatypeCode];
  if (!info) {
    const name = UNSUPPORTED_NAMES[hdr.datatypeCode] ?? 'unknown';
    const supported = Object.values(NIFTI_DATATYPES)
      .map((d) => d.type)
      .join(', ');
    throw new ScanError(
      'unsupported-datatype',
      `${fileName}: NIfTI datatype ${hdr.datatypeCode} (${name}) is not supported; supported: ${supported}.`,
    );
  }
  return info.type;
}

function checkSpacing(hdr: NiftiHeader, unit: number, fileName: string): [number, number, number] {
  const spacing = [1, 2, 3].map((k) => Math.abs(hdr.pixdim[k]) * unit) as [number, number, number];
  spacing.forEach((s, i) => {
    if (!Number.isFinite(s) || s < MIN_VOXEL_MM || s > MAX_VOXEL_MM) {
      throw new ScanError(
        'voxel-size',
        `${fileName}: voxel size ${'xyz'[i]} = ${s} mm is outside ${MIN_VOXEL_MM}–${MAX_VOXEL_MM} mm; the header's pixdim is broken.`,
      );
    }
  });
  return spacing;
}

function checkSize(hdr: NiftiHeader, fileBytes: number, bytesPer: number, fileName: string): void {
  const minOffset = hdr.version === 1 ? 348 : 540;
  if (!Number.isInteger(hdr.voxOffset) || hdr.voxOffset < minOffset) {
    throw new ScanError(
      'size-mismatch',
      `${fileName}: vox_offset = ${hdr.voxOffset} cannot be where the voxels start (must be an integer ≥ ${minOffset}).`,
    );
  }
  const total = hdr.dim.slice(1, hdr.dim[0] + 1).reduce((a, b) => a * b, 1);
  const expected = hdr.voxOffset + total * bytesPer;
  if (fileBytes !== expected) {
    const have = fileBytes - hdr.voxOffset;
    throw new ScanError(
      'size-mismatch',
      `${fileName}: the header describes ${total.toLocaleString('en-US')} voxels × ${bytesPer} bytes = ${(total * bytesPer).toLocaleString('en-US')} bytes of data, but the file holds ${Math.max(0, have).toLocaleString('en-US')} after the header${fileBytes < expected ? ' (truncated?)' : ''}.`,
    );
  }
}

function pickAffine(
  hdr: NiftiHeader,
  spacing: [number, number, number],
  unit: number,
  fileName: string,
): { affine: Mat4; source: ScanInfo['affineSource'] } {
  let affine: Mat4;
  let source: ScanInfo['affineSource'];
  if (hdr.sformCode > 0) {
    affine = [...hdr.srow, 0, 0, 0, 1];
    source = 'sform';
  } else if (hdr.qformCode > 0) {
    const [b, c, d] = hdr.quatern;
    const [qx, qy, qz] = hdr.qoffset;
    const qfac = hdr.pixdim[0] < 0 ? -1 : 1;
    const raw = [1, 2, 3].map((k) => Math.abs(hdr.pixdim[k])) as [number, number, number];
    affine = quaternToMat({ b, c, d, qx, qy, qz, qfac, spacing: raw });
    source = 'qform';
  } else {
    return { affine: scaleMat(spacing), source: 'pixdim' };
  }
  if (unit !== 1) affine = affine.map((v, i) => (i < 12 ? v * unit : v));
  if (!isUsableAffine(affine)) {
    throw new ScanError(
      'bad-affine',
      `${fileName}: the ${source} matrix [${affine
        .slice(0, 12)
        .map((v) => +v.toFixed(3))
        .join(', ')}] is not finite and invertible.`,
    );
  }
  return { affine, source };
}

function checkFinite(data: Float32Array, fileName: string): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  let bad = 0;
  let firstBad = -1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) {
      // NaN or ±Inf: v - v is NaN for both.
      if (bad++ === 0) firstBad = i;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (bad > 0) {
    throw new ScanError(
      'non-finite',
      `${fileName}: ${bad.toLocaleString('en-US')} voxel(s) are NaN or infinite (first at index ${firstBad}); QuMRI needs finite intensities.`,
    );
  }
  return [min, max];
}
