/**
 * fast-check generators for the loader fuzz tests: small valid NIfTI-1/NIfTI-2 files (either byte
 * order, every supported datatype, optional extension and 4th dimension) and gzip streams, and the
 * damage done to them (header fields overwritten, bits flipped, bytes overwritten, truncation,
 * extension, gzip header/body/trailer corruption).
 */
import fc from 'fast-check';
import { deflateSync } from 'fflate';
import { quaternToMat } from '../affine.ts';
import { crc32 } from '../gzip.ts';

export interface BaseSpec {
  version: 1 | 2;
  le: boolean;
  /** A supported NIfTI datatype code. */
  code: number;
  /** nx, ny, nz and, for a 4D file, nt. */
  dims: number[];
  spacing: [number, number, number];
  /** quatern_b, _c, _d. */
  quat: [number, number, number];
  qfac: 1 | -1;
  qformCode: number;
  sformCode: number;
  slope: number;
  inter: number;
  /** xyzt_units: 0 (unknown, read as mm), 2 (mm), 10 (mm and s). */
  units: number;
  /** Bytes of header extension after the 4-byte extender (0: none). */
  extension: number;
  /** Seeds the voxel values. */
  seed: number;
}

const BYTES: Record<number, number> = { 2: 1, 4: 2, 8: 4, 16: 4, 64: 8, 128: 3, 256: 1, 512: 2, 768: 4 };

export const baseSpec = (version?: 1 | 2): fc.Arbitrary<BaseSpec> =>
  fc.record({
    version: version ? fc.constant(version) : fc.constantFrom<1 | 2>(1, 2),
    le: fc.boolean(),
    code: fc.constantFrom(...Object.keys(BYTES).map(Number)),
    dims: fc
      .tuple(
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 0, max: 3 }),
      )
      .map(([x, y, z, t]) => (t === 0 ? [x, y, z] : [x, y, z, t])),
    spacing: fc.tuple(...[0, 1, 2].map(() => fc.constantFrom(0.5, 0.9, 1, 1.2, 3.5))) as fc.Arbitrary<
      [number, number, number]
    >,
    quat: fc.tuple(...[0, 1, 2].map(() => fc.integer({ min: -50, max: 50 }).map((v) => v / 100))) as fc.Arbitrary<
      [number, number, number]
    >,
    qfac: fc.constantFrom<1 | -1>(1, -1),
    qformCode: fc.constantFrom(0, 1, 2),
    sformCode: fc.constantFrom(0, 1, 4),
    slope: fc.constantFrom(0, 1, 2.5, -1),
    inter: fc.constantFrom(0, 10, -3.5),
    units: fc.constantFrom(0, 2, 10),
    extension: fc.constantFrom(0, 0, 16, 32),
    seed: fc.nat(),
  });

/** Voxel values that fit the datatype: integers over its whole range, finite floats. */
function writeVoxels(dv: DataView, at: number, n: number, code: number, le: boolean, seed: number): void {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  for (let i = 0; i < n; i++) {
    const r = next();
    const o = at + i * BYTES[code];
    switch (code) {
      case 2:
        dv.setUint8(o, r & 255);
        break;
      case 256:
        dv.setInt8(o, r & 255);
        break;
      case 4:
        dv.setInt16(o, r & 0xffff, le);
        break;
      case 512:
        dv.setUint16(o, r & 0xffff, le);
        break;
      case 8:
        dv.setInt32(o, r, le);
        break;
      case 768:
        dv.setUint32(o, r, le);
        break;
      case 16:
        dv.setFloat32(o, (r / 2 ** 32 - 0.5) * 2e4, le);
        break;
      case 64:
        dv.setFloat64(o, (r / 2 ** 32 - 0.5) * 2e4, le);
        break;
      case 128:
        dv.setUint8(o, r & 255);
        dv.setUint8(o + 1, (r >>> 8) & 255);
        dv.setUint8(o + 2, (r >>> 16) & 255);
        break;
    }
  }
}

/** Writes the valid file `spec` describes. */
export function buildNifti(spec: BaseSpec): Uint8Array {
  const { version, le, code, dims } = spec;
  const hdr = version === 1 ? 348 : 540;
  const voxOffset = hdr + 4 + spec.extension;
  const total = dims.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(voxOffset + total * BYTES[code]);
  const dv = new DataView(out.buffer);
  const dim = [dims.length, ...dims, 1, 1, 1, 1].slice(0, 8);
  const pixdim = [spec.qfac, ...spec.spacing, dims.length > 3 ? 2 : 0, 0, 0, 0];
  const [b, c, d] = spec.quat;
  const q = { b, c, d, qx: -90, qy: 120.5, qz: -60, qfac: spec.qfac, spacing: spec.spacing };
  const affine = quaternToMat(q);
  const v1 = version === 1;
  const f = (o: number, v: number) => (v1 ? dv.setFloat32(o, v, le) : dv.setFloat64(o, v, le));
  const step = v1 ? 4 : 8;
  dv.setInt32(0, hdr, le);
  if (v1) {
    dim.forEach((v, k) => dv.setInt16(40 + 2 * k, v, le));
    dv.setInt16(70, code, le);
    dv.setInt16(72, BYTES[code] * 8, le);
    out.set([0x6e, 0x2b, 0x31, 0], 344);
  } else {
    out.set([0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a], 4);
    dv.setInt16(12, code, le);
    dv.setInt16(14, BYTES[code] * 8, le);
    dim.forEach((v, k) => dv.setBigInt64(16 + 8 * k, BigInt(v), le));
  }
  const at = v1
    ? { pixdim: 76, vox: 108, slope: 112, quat: 256, srow: 280, descrip: 148 }
    : { pixdim: 104, vox: 168, slope: 176, quat: 352, srow: 400, descrip: 240 };
  pixdim.forEach((v, k) => f(at.pixdim + step * k, v));
  if (v1) dv.setFloat32(at.vox, voxOffset, le);
  else dv.setBigInt64(at.vox, BigInt(voxOffset), le);
  f(at.slope, spec.slope);
  f(at.slope + step, spec.inter);
  if (v1) {
    out[123] = spec.units;
    dv.setInt16(252, spec.qformCode, le);
    dv.setInt16(254, spec.sformCode, le);
  } else {
    dv.setInt32(500, spec.units, le);
    dv.setInt32(344, spec.qformCode, le);
    dv.setInt32(348, spec.sformCode, le);
  }
  [b, c, d, q.qx, q.qy, q.qz].forEach((v, k) => f(at.quat + step * k, v));
  for (let k = 0; k < 12; k++) f(at.srow + step * k, affine[k]);
  new TextEncoder().encodeInto('fuzz base', out.subarray(at.descrip, at.descrip + 80));
  if (spec.extension > 0) {
    out[hdr] = 1;
    dv.setInt32(hdr + 4, spec.extension, le);
    dv.setInt32(hdr + 8, 6, le); // NIFTI_ECODE_COMMENT
    new TextEncoder().encodeInto('fuzz extension', out.subarray(hdr + 12, voxOffset));
  }
  writeVoxels(dv, voxOffset, total, code, le, spec.seed);
  return out;
}

type FieldKind = 'u8' | 'i16' | 'i32' | 'i64' | 'f32' | 'f64' | 'bytes';
interface Field {
  name: string;
  at: number;
  kind: FieldKind;
  length?: number;
}

const repeat = (name: string, at: number, kind: FieldKind, step: number, n: number): Field[] =>
  Array.from({ length: n }, (_, k) => ({ name: `${name}[${k}]`, at: at + step * k, kind }));

/** The header fields the loader reads (and a few it does not), by NIfTI version. */
export const FIELDS: Record<1 | 2, Field[]> = {
  1: [
    { name: 'sizeof_hdr', at: 0, kind: 'i32' },
    ...repeat('dim', 40, 'i16', 2, 8),
    { name: 'datatype', at: 70, kind: 'i16' },
    { name: 'bitpix', at: 72, kind: 'i16' },
    ...repeat('pixdim', 76, 'f32', 4, 8),
    { name: 'vox_offset', at: 108, kind: 'f32' },
    { name: 'scl_slope', at: 112, kind: 'f32' },
    { name: 'scl_inter', at: 116, kind: 'f32' },
    { name: 'xyzt_units', at: 123, kind: 'u8' },
    { name: 'descrip', at: 148, kind: 'bytes', length: 80 },
    { name: 'qform_code', at: 252, kind: 'i16' },
    { name: 'sform_code', at: 254, kind: 'i16' },
    ...repeat('quatern_qoffset', 256, 'f32', 4, 6),
    ...repeat('srow', 280, 'f32', 4, 12),
    { name: 'magic', at: 344, kind: 'bytes', length: 4 },
    { name: 'extension', at: 348, kind: 'bytes', length: 4 },
    { name: 'esize', at: 352, kind: 'i32' },
  ],
  2: [
    { name: 'sizeof_hdr', at: 0, kind: 'i32' },
    { name: 'magic', at: 4, kind: 'bytes', length: 8 },
    { name: 'datatype', at: 12, kind: 'i16' },
    { name: 'bitpix', at: 14, kind: 'i16' },
    ...repeat('dim', 16, 'i64', 8, 8),
    ...repeat('pixdim', 104, 'f64', 8, 8),
    { name: 'vox_offset', at: 168, kind: 'i64' },
    { name: 'scl_slope', at: 176, kind: 'f64' },
    { name: 'scl_inter', at: 184, kind: 'f64' },
    { name: 'descrip', at: 240, kind: 'bytes', length: 80 },
    { name: 'qform_code', at: 344, kind: 'i32' },
    { name: 'sform_code', at: 348, kind: 'i32' },
    ...repeat('quatern_qoffset', 352, 'f64', 8, 6),
    ...repeat('srow', 400, 'f64', 8, 12),
    { name: 'xyzt_units', at: 500, kind: 'i32' },
    { name: 'extension', at: 540, kind: 'bytes', length: 4 },
    { name: 'esize', at: 544, kind: 'i32' },
  ],
};

const ascii = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

const intValue = fc.oneof(
  fc.constantFrom(
    0,
    1,
    -1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    16,
    24,
    32,
    64,
    127,
    128,
    255,
    256,
    348,
    352,
    512,
    540,
    544,
    768,
    1024,
    1792,
    2304,
    32767,
    -32768,
    65535,
    2 ** 31 - 1,
    -(2 ** 31),
  ),
  fc.integer({ min: -70000, max: 70000 }),
);
const bigValue = fc.oneof(
  intValue.map(BigInt),
  fc.constantFrom(2n ** 31n, 2n ** 32n + 3n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n - 1n, -(2n ** 63n)),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
);
const floatValue = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    1,
    -1,
    0.5,
    2,
    1e-3,
    0.0099,
    0.01,
    50,
    50.01,
    348,
    352,
    352.5,
    356,
    540,
    544,
    548,
    1e6,
    1e30,
    3.4e38,
    -3.4e38,
    1e300,
    NaN,
    Infinity,
    -Infinity,
    1e-45,
    2 ** 31,
    2 ** 53,
  ),
  fc.double(),
);
const bytesValue = (length: number) =>
  fc.oneof(
    fc
      .constantFrom('n+1\0', 'ni1\0', 'n+2\0\r\n\x1a\n', 'ni2\0\r\n\x1a\n', 'n+2\0\n\r\x1a\n', '\0\0\0\0', '\x01\0\0\0')
      .map((s) => ascii(s.padEnd(length, '\0').slice(0, length))),
    fc.uint8Array({ minLength: length, maxLength: length }),
  );

function valueFor(kind: FieldKind, length = 0): fc.Arbitrary<number | bigint | Uint8Array> {
  if (kind === 'i64') return bigValue;
  if (kind === 'f32' || kind === 'f64') return floatValue;
  if (kind === 'bytes') return bytesValue(length);
  return intValue;
}

export type Mutation =
  | { op: 'field'; field: string; value: number | bigint | Uint8Array; otherByteOrder: boolean }
  | { op: 'flip'; pos: number; bit: number; inHeader: boolean }
  | { op: 'byte'; pos: number; value: number; inHeader: boolean }
  | { op: 'truncate'; keep: number }
  | { op: 'extend'; bytes: Uint8Array };

const fieldMutation = (version: 1 | 2): fc.Arbitrary<Mutation> =>
  fc.constantFrom(...FIELDS[version]).chain((f) =>
    fc.record({
      op: fc.constant('field' as const),
      field: fc.constant(f.name),
      value: valueFor(f.kind, f.length),
      otherByteOrder: fc.oneof(
        { arbitrary: fc.constant(false), weight: 4 },
        { arbitrary: fc.constant(true), weight: 1 },
      ),
    }),
  );

/** Positions and lengths are taken modulo the file's length when applied, so every value is usable. */
const genericMutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('flip' as const),
      pos: fc.nat(),
      bit: fc.integer({ min: 0, max: 7 }),
      inHeader: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('byte' as const),
      pos: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
      inHeader: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('truncate' as const),
      keep: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.nat()),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  },
);

export const niftiMutations = (version: 1 | 2): fc.Arbitrary<Mutation[]> =>
  fc.array(fc.oneof({ weight: 5, arbitrary: fieldMutation(version) }, { weight: 4, arbitrary: genericMutation }), {
    minLength: 1,
    maxLength: 4,
  });

function setField(bytes: Uint8Array, f: Field, value: number | bigint | Uint8Array, le: boolean): void {
  const size = f.kind === 'bytes' ? (f.length ?? 0) : { u8: 1, i16: 2, i32: 4, i64: 8, f32: 4, f64: 8 }[f.kind];
  if (f.at + size > bytes.length) return; // cut off by an earlier truncation
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (value instanceof Uint8Array) bytes.set(value.subarray(0, size), f.at);
  else if (f.kind === 'i64') dv.setBigInt64(f.at, BigInt.asIntN(64, BigInt(value)), le);
  else if (f.kind === 'f32') dv.setFloat32(f.at, Number(value), le);
  else if (f.kind === 'f64') dv.setFloat64(f.at, Number(value), le);
  else if (f.kind === 'i32') dv.setInt32(f.at, Number(value), le);
  else if (f.kind === 'i16') dv.setInt16(f.at, Number(value), le);
  else dv.setUint8(f.at, Number(value));
}

/** Applies `mutations` in order; `headerBytes` bounds the positions of the "in header" ones. */
export function mutate(
  file: Uint8Array,
  mutations: Mutation[],
  version: 1 | 2,
  le: boolean,
  headerBytes: number,
): Uint8Array {
  let b = file.slice();
  for (const m of mutations) {
    if (m.op === 'field') {
      const f = FIELDS[version].find((x) => x.name === m.field);
      if (f) setField(b, f, m.value, m.otherByteOrder ? !le : le);
    } else if (m.op === 'flip' || m.op === 'byte') {
      if (b.length === 0) continue;
      const p = m.pos % (m.inHeader ? Math.min(b.length, headerBytes) : b.length);
      b[p] = m.op === 'flip' ? b[p] ^ (1 << m.bit) : m.value;
    } else if (m.op === 'truncate') {
      b = b.slice(0, m.keep % (b.length + 1));
    } else {
      const longer = new Uint8Array(b.length + m.bytes.length);
      longer.set(b);
      longer.set(m.bytes, b.length);
      b = longer;
    }
  }
  return b;
}

export interface GzipSpec {
  level: number;
  /** FTEXT 1, FHCRC 2, FEXTRA 4, FNAME 8, FCOMMENT 16 (RFC 1952). */
  flags: number;
}

export const gzipSpec: fc.Arbitrary<GzipSpec> = fc.record({
  level: fc.integer({ min: 0, max: 9 }),
  flags: fc.oneof(fc.constant(0), fc.constant(8), fc.integer({ min: 0, max: 31 })),
});

/** A single-member gzip file with the optional header fields `spec.flags` asks for. */
export function gzipWith(raw: Uint8Array, spec: GzipSpec): Uint8Array {
  const head = [0x1f, 0x8b, 8, spec.flags, 0x12, 0x34, 0x56, 0x78, 0, 3];
  if (spec.flags & 4) head.push(6, 0, 0x41, 0x42, 2, 0, 0x63, 0x64); // XLEN 6: one subfield "AB" with 2 bytes
  if (spec.flags & 8) head.push(...ascii('scan.nii\0'));
  if (spec.flags & 16) head.push(...ascii('fuzz comment\0'));
  if (spec.flags & 2) {
    const c = crc32(Uint8Array.from(head));
    head.push(c & 255, (c >>> 8) & 255);
  }
  const body = deflateSync(raw, { level: spec.level as 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 });
  const out = new Uint8Array(head.length + body.length + 8);
  out.set(head);
  out.set(body, head.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(out.length - 8, crc32(raw), true);
  dv.setUint32(out.length - 4, raw.length, true);
  return out;
}

export type GzipMutation =
  | { op: 'flip'; region: 'header' | 'body' | 'trailer' | 'any'; pos: number; bit: number }
  | { op: 'byte'; region: 'header' | 'body' | 'trailer' | 'any'; pos: number; value: number }
  | { op: 'truncate'; keep: number }
  | { op: 'trailer'; field: 'crc' | 'size'; value: number }
  | { op: 'extend'; bytes: Uint8Array };

const region = fc.constantFrom<'header' | 'body' | 'trailer' | 'any'>('header', 'body', 'trailer', 'any');

export const gzipMutations: fc.Arbitrary<GzipMutation[]> = fc.array(
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('flip' as const),
        region,
        pos: fc.nat(),
        bit: fc.integer({ min: 0, max: 7 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('byte' as const),
        region,
        pos: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('truncate' as const), keep: fc.nat() }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('trailer' as const),
        field: fc.constantFrom<'crc' | 'size'>('crc', 'size'),
        value: fc.oneof(
          fc.constantFrom(0, 1, 2 ** 30 - 1, 2 ** 30, 2 ** 30 + 1, 2 ** 31, 2 ** 32 - 1),
          fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        ),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('extend' as const),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
      }),
    },
  ),
  { minLength: 1, maxLength: 3 },
);

/** Applies gzip damage; `headerBytes` is where the deflate stream starts in the undamaged file. */
export function mutateGzip(gz: Uint8Array, mutations: GzipMutation[], headerBytes: number): Uint8Array {
  let b = gz.slice();
  for (const m of mutations) {
    if (m.op === 'flip' || m.op === 'byte') {
      if (b.length === 0) continue;
      const [lo, hi] = {
        header: [0, Math.min(headerBytes, b.length)],
        body: [Math.min(headerBytes, b.length), Math.max(headerBytes, b.length - 8)],
        trailer: [Math.max(0, b.length - 8), b.length],
        any: [0, b.length],
      }[m.region];
      if (hi <= lo) continue;
      const p = lo + (m.pos % (hi - lo));
      b[p] = m.op === 'flip' ? b[p] ^ (1 << m.bit) : m.value;
    } else if (m.op === 'truncate') {
      b = b.slice(0, m.keep % (b.length + 1));
    } else if (m.op === 'trailer') {
      if (b.length >= 8) new DataView(b.buffer).setUint32(b.length - (m.field === 'crc' ? 8 : 4), m.value, true);
    } else {
      const longer = new Uint8Array(b.length + m.bytes.length);
      longer.set(b);
      longer.set(m.bytes, b.length);
      b = longer;
    }
  }
  return b;
}

/** Length of the gzip header gzipWith writes for `flags`. */
export function gzipHeaderBytes(flags: number): number {
  return 10 + (flags & 4 ? 8 : 0) + (flags & 8 ? 9 : 0) + (flags & 16 ? 13 : 0) + (flags & 2 ? 2 : 0);
}
