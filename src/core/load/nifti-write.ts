/** NIfTI-1 writer: Volume → .nii (or .nii.gz) bytes with sform and qform both set from the affine. */
import { gzipSync } from 'fflate';
import type { Volume } from '../volume.ts';
import { matToQuatern } from './affine.ts';
import { NIFTI_CODE_OF } from './datatypes.ts';

export type WriteDatatype = 'float32' | 'int16' | 'uint16' | 'uint8';

export interface WriteOptions {
  datatype?: WriteDatatype;
  gzip?: boolean;
  description?: string;
}

const RANGE: Record<Exclude<WriteDatatype, 'float32'>, [number, number]> = {
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
};

/** NIfTI code for "aligned to scanner/template coordinates" (NIFTI_XFORM_SCANNER_ANAT). */
const XFORM_SCANNER_ANAT = 1;
const HEADER_BYTES = 352;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Integer outputs store intensities exactly when they are integers that fit the type; otherwise
 * min..max is mapped onto the type's range and recorded in scl_slope/scl_inter.
 */
function integerScaling(data: Float32Array, [lo, hi]: [number, number]): { slope: number; inter: number } {
  let min = Infinity;
  let max = -Infinity;
  let integral = true;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
    if (integral && v !== Math.round(v)) integral = false;
  }
  if (data.length === 0 || (integral && min >= lo && max <= hi)) return { slope: 1, inter: 0 };
  if (max === min) return { slope: 1, inter: min - lo };
  const slope = (max - min) / (hi - lo);
  return { slope, inter: min - lo * slope };
}

function checkVolume(vol: Volume): void {
  const [nx, ny, nz] = vol.dims;
  if (![nx, ny, nz].every((d) => Number.isInteger(d) && d >= 1))
    throw new Error(`writeNifti: dims ${JSON.stringify(vol.dims)} must be positive integers`);
  if (vol.data.length !== nx * ny * nz)
    throw new Error(
      `writeNifti: data has ${vol.data.length} values but dims ${vol.dims.join('×')} need ${nx * ny * nz}`,
    );
  if (vol.affine.length !== 16 || !vol.affine.every(Number.isFinite))
    throw new Error(`writeNifti: affine must be 16 finite numbers, got ${vol.affine.length}`);
  if (!vol.spacing.every((s) => Number.isFinite(s) && s > 0))
    throw new Error(`writeNifti: spacing ${JSON.stringify(vol.spacing)} must be positive`);
}

export function writeNifti(vol: Volume, opts: WriteOptions = {}): Uint8Array {
  checkVolume(vol);
  const type = opts.datatype ?? 'float32';
  if (!(type in NIFTI_CODE_OF) || !['float32', 'int16', 'uint16', 'uint8'].includes(type)) {
    throw new Error(`writeNifti: datatype "${type}" is not one of float32, int16, uint16, uint8`);
  }
  const bytesPer = type === 'float32' ? 4 : type === 'uint8' ? 1 : 2;
  const n = vol.data.length;
  const out = new Uint8Array(HEADER_BYTES + n * bytesPer);
  const dv = new DataView(out.buffer);
  const { slope, inter } = type === 'float32' ? { slope: 1, inter: 0 } : integerScaling(vol.data, RANGE[type]);

  dv.setInt32(0, 348, true);
  out[38] = 'r'.charCodeAt(0); // "regular", as ANALYZE readers expect
  const dims = [3, ...vol.dims, 1, 1, 1, 1];
  dims.forEach((d, k) => dv.setInt16(40 + 2 * k, d, true));
  dv.setInt16(70, NIFTI_CODE_OF[type], true);
  dv.setInt16(72, bytesPer * 8, true);
  const q = matToQuatern(vol.affine);
  const pixdim = [q.qfac, ...vol.spacing, 0, 0, 0, 0];
  pixdim.forEach((p, k) => dv.setFloat32(76 + 4 * k, p, true));
  dv.setFloat32(108, HEADER_BYTES, true);
  dv.setFloat32(112, slope, true);
  dv.setFloat32(116, inter, true);
  out[123] = 2; // xyzt_units: millimetres
  const desc = (opts.description ?? 'QuMRI').slice(0, 79);
  for (let i = 0; i < desc.length; i++) out[148 + i] = desc.charCodeAt(i) & 0x7f;
  dv.setInt16(252, XFORM_SCANNER_ANAT, true);
  dv.setInt16(254, XFORM_SCANNER_ANAT, true);
  [q.b, q.c, q.d, q.qx, q.qy, q.qz].forEach((v, k) => dv.setFloat32(256 + 4 * k, v, true));
  for (let k = 0; k < 12; k++) dv.setFloat32(280 + 4 * k, vol.affine[k], true);
  out.set([0x6e, 0x2b, 0x31, 0], 344); // "n+1\0"

  const o = HEADER_BYTES;
  if (type === 'float32') {
    // The header is 352 bytes, so the data is 4-byte aligned and a typed copy works on little-endian hosts.
    if (LITTLE_ENDIAN_HOST) new Float32Array(out.buffer, o, n).set(vol.data);
    else for (let i = 0; i < n; i++) dv.setFloat32(o + 4 * i, vol.data[i], true);
  } else {
    const [lo, hi] = RANGE[type];
    const put =
      type === 'uint8'
        ? (i: number, v: number) => dv.setUint8(o + i, v)
        : type === 'int16'
          ? (i: number, v: number) => dv.setInt16(o + 2 * i, v, true)
          : (i: number, v: number) => dv.setUint16(o + 2 * i, v, true);
    for (let i = 0; i < n; i++) put(i, Math.min(hi, Math.max(lo, Math.round((vol.data[i] - inter) / slope))));
  }
  return opts.gzip ? gzipSync(out, { level: 6 }) : out;
}
