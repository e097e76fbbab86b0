/** Reads the raw NIfTI-1 / NIfTI-2 header fields (either byte order) from uncompressed bytes. */
import { ScanError } from './scan-error.ts';

export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  /** dim[0..7]: dim[0] is the number of dimensions used. */
  dim: number[];
  /** pixdim[0..7]: pixdim[0] is qfac. */
  pixdim: number[];
  datatypeCode: number;
  bitpix: number;
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  xyztUnits: number;
  qformCode: number;
  sformCode: number;
  quatern: [number, number, number];
  qoffset: [number, number, number];
  /** srow_x, srow_y, srow_z: the first three rows of the sform. */
  srow: number[];
  descrip: string;
}

export const NIFTI1_HEADER_BYTES = 348;
export const NIFTI2_HEADER_BYTES = 540;

function cString(bytes: Uint8Array, start: number, length: number): string {
  let end = start;
  while (end < start + length && bytes[end] !== 0) end++;
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
  return s.trim();
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

/** Which NIfTI layout, if any, the first bytes announce; `null` means "not a NIfTI header". */
export function sniffNifti(bytes: Uint8Array): { version: 1 | 2; littleEndian: boolean } | null {
  if (bytes.length < 4) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const littleEndian of [true, false]) {
    const size = dv.getInt32(0, littleEndian);
    if (size === NIFTI1_HEADER_BYTES) return { version: 1, littleEndian };
    if (size === NIFTI2_HEADER_BYTES) return { version: 2, littleEndian };
  }
  return null;
}

export function isDicom(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && ascii(bytes, 128, 4) === 'DICM';
}

/** Parses the header; throws ScanError for a wrong magic or a file too short to hold a header. */
export function readNiftiHeader(bytes: Uint8Array, fileName: string): NiftiHeader {
  const kind = sniffNifti(bytes);
  if (!kind) throw new ScanError('not-nifti', `${fileName}: not a NIfTI file (no NIfTI-1/2 header size at byte 0).`);
  const { version, littleEndian: le } = kind;
  const need = version === 1 ? NIFTI1_HEADER_BYTES : NIFTI2_HEADER_BYTES;
  if (bytes.length < need) {
    throw new ScanError(
      'header-truncated',
      `${fileName}: the file ends inside the NIfTI-${version} header (${bytes.length} of ${need} bytes).`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (version === 1) {
    const magic = ascii(bytes, 344, 4);
    if (magic === 'ni1\0') {
      throw new ScanError(
        'analyze-pair',
        `${fileName}: a two-file NIfTI (.hdr/.img pair, magic "ni1"); convert it to a single .nii file.`,
      );
    }
    if (magic !== 'n+1\0') {
      throw new ScanError(
        'wrong-magic',
        `${fileName}: wrong NIfTI-1 magic ${JSON.stringify(magic.replace(/\0/g, ''))} at byte 344 (expected "n+1"); an ANALYZE 7.5 file or a damaged header.`,
      );
    }
    const i16 = (o: number) => dv.getInt16(o, le);
    const f32 = (o: number) => dv.getFloat32(o, le);
    return {
      version,
      littleEndian: le,
      dim: Array.from({ length: 8 }, (_, k) => i16(40 + 2 * k)),
      pixdim: Array.from({ length: 8 }, (_, k) => f32(76 + 4 * k)),
      datatypeCode: i16(70),
      bitpix: i16(72),
      voxOffset: f32(108),
      sclSlope: f32(112),
      sclInter: f32(116),
      xyztUnits: bytes[123],
      qformCode: i16(252),
      sformCode: i16(254),
      quatern: [f32(256), f32(260), f32(264)],
      qoffset: [f32(268), f32(272), f32(276)],
      srow: Array.from({ length: 12 }, (_, k) => f32(280 + 4 * k)),
      descrip: cString(bytes, 148, 80),
    };
  }
  const magic = ascii(bytes, 4, 8);
  if (magic !== 'n+2\0\r\n\x1a\n') {
    const shown =
      magic.slice(0, 3) === 'ni2'
        ? 'ni2 (a two-file .hdr/.img pair)'
        : JSON.stringify(magic.replace(/[^\x20-\x7e]/g, '.'));
    throw new ScanError(
      magic.slice(0, 3) === 'ni2' ? 'analyze-pair' : 'wrong-magic',
      `${fileName}: wrong NIfTI-2 magic ${shown} at byte 4 (expected "n+2").`,
    );
  }
  const i64 = (o: number) => Number(dv.getBigInt64(o, le));
  const f64 = (o: number) => dv.getFloat64(o, le);
  return {
    version,
    littleEndian: le,
    dim: Array.from({ length: 8 }, (_, k) => i64(16 + 8 * k)),
    pixdim: Array.from({ length: 8 }, (_, k) => f64(104 + 8 * k)),
    datatypeCode: dv.getInt16(12, le),
    bitpix: dv.getInt16(14, le),
    voxOffset: i64(168),
    sclSlope: f64(176),
    sclInter: f64(184),
    xyztUnits: dv.getInt32(500, le),
    qformCode: dv.getInt32(344, le),
    sformCode: dv.getInt32(348, le),
    quatern: [f64(352), f64(360), f64(368)],
    qoffset: [f64(376), f64(384), f64(392)],
    srow: Array.from({ length: 12 }, (_, k) => f64(400 + 8 * k)),
    descrip: cString(bytes, 240, 80),
  };
}
