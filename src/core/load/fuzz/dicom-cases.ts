/**
 * fast-check generators of damaged DICOM series for the loader fuzz tests: small valid MR series
 * written by dcmjs (the e2e tests' writer), then elements replaced (image size, bit depth, spacing,
 * orientation, UIDs, transfer syntax, descriptions, pixel data), length fields overwritten, bits
 * flipped, bytes overwritten, files truncated, dropped, duplicated or replaced by garbage.
 */
import fc from 'fast-check';
import dcmjs from 'dcmjs';
import type { Volume } from '../../volume.ts';
import { volumeToDicom } from '../../../../e2e/dicom-series.ts';

// dcmjs logs a warning for each oblique position it shortens to DICOM's 16 characters; that
// shortening is fine here. (e2e/dcmjs.d.ts types only what the writer uses, not the logger.)
(dcmjs as unknown as { log: { setLevel(level: 'error'): void } }).log.setLevel('error');

export interface SeriesSpec {
  dims: [number, number, number];
  spacing: [number, number, number];
  /** 'axial' (RAS), 'sagittal' or 'oblique' (about 37° about x). */
  orientation: 'axial' | 'sagittal' | 'oblique';
  description: string;
  /** A second series of the same study, so the page would offer a choice. */
  twoSeries: boolean;
  seed: number;
}

export const seriesSpec: fc.Arbitrary<SeriesSpec> = fc.record({
  dims: fc.tuple(fc.integer({ min: 3, max: 8 }), fc.integer({ min: 3, max: 8 }), fc.integer({ min: 2, max: 4 })),
  spacing: fc.tuple(fc.constantFrom(0.5, 1, 1.2), fc.constantFrom(0.5, 1, 1.2), fc.constantFrom(1, 2, 3)),
  orientation: fc.constantFrom<SeriesSpec['orientation']>('axial', 'sagittal', 'oblique'),
  description: fc.constantFrom('AX FLAIR', 't2_tse_tra', 'sag 3D FLAIR', 'localizer'),
  twoSeries: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
  seed: fc.nat(),
});

function volumeOf(spec: SeriesSpec): Volume {
  const [nx, ny, nz] = spec.dims;
  const [sx, sy, sz] = spec.spacing;
  const c = 0.8;
  const s = 0.6;
  // Columns: directions of voxel axes i, j, k in RAS.
  const dirs = {
    axial: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
    sagittal: [
      [0, 1, 0],
      [0, 0, 1],
      [1, 0, 0],
    ],
    oblique: [
      [1, 0, 0],
      [0, c, s],
      [0, -s, c],
    ],
  }[spec.orientation];
  const affine: number[] = [];
  for (let r = 0; r < 3; r++) affine.push(dirs[0][r] * sx, dirs[1][r] * sy, dirs[2][r] * sz, [-20, 30, -10][r]);
  affine.push(0, 0, 0, 1);
  let x = spec.seed >>> 0;
  const data = new Float32Array(nx * ny * nz).map(() => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x >>> 20; // 0..4095, as 12-bit MR data
  });
  return { dims: spec.dims, spacing: spec.spacing, affine, datatype: 'uint16', data };
}

export interface DicomFile {
  name: string;
  bytes: Uint8Array;
}

export function buildSeries(spec: SeriesSpec): DicomFile[] {
  const vol = volumeOf(spec);
  const files = volumeToDicom(vol, { seriesNumber: 3, seriesDescription: spec.description });
  if (spec.twoSeries) files.push(...volumeToDicom(vol, { seriesNumber: 4, seriesDescription: 'AX T2 TSE' }));
  return files;
}

type Vr = 'US' | 'DS' | 'IS' | 'UI' | 'CS' | 'LO' | 'OW';
const TAGS: { name: string; group: number; element: number; vr: Vr }[] = [
  { name: 'TransferSyntaxUID', group: 0x0002, element: 0x0010, vr: 'UI' },
  { name: 'SOPInstanceUID', group: 0x0008, element: 0x0018, vr: 'UI' },
  { name: 'Modality', group: 0x0008, element: 0x0060, vr: 'CS' },
  { name: 'SeriesDescription', group: 0x0008, element: 0x103e, vr: 'LO' },
  { name: 'SliceThickness', group: 0x0018, element: 0x0050, vr: 'DS' },
  { name: 'RepetitionTime', group: 0x0018, element: 0x0080, vr: 'DS' },
  { name: 'EchoTime', group: 0x0018, element: 0x0081, vr: 'DS' },
  { name: 'SpacingBetweenSlices', group: 0x0018, element: 0x0088, vr: 'DS' },
  { name: 'ProtocolName', group: 0x0018, element: 0x1030, vr: 'LO' },
  { name: 'SeriesInstanceUID', group: 0x0020, element: 0x000e, vr: 'UI' },
  { name: 'SeriesNumber', group: 0x0020, element: 0x0011, vr: 'IS' },
  { name: 'InstanceNumber', group: 0x0020, element: 0x0013, vr: 'IS' },
  { name: 'ImagePositionPatient', group: 0x0020, element: 0x0032, vr: 'DS' },
  { name: 'ImageOrientationPatient', group: 0x0020, element: 0x0037, vr: 'DS' },
  { name: 'SamplesPerPixel', group: 0x0028, element: 0x0002, vr: 'US' },
  { name: 'PhotometricInterpretation', group: 0x0028, element: 0x0004, vr: 'CS' },
  { name: 'Rows', group: 0x0028, element: 0x0010, vr: 'US' },
  { name: 'Columns', group: 0x0028, element: 0x0011, vr: 'US' },
  { name: 'PixelSpacing', group: 0x0028, element: 0x0030, vr: 'DS' },
  { name: 'BitsAllocated', group: 0x0028, element: 0x0100, vr: 'US' },
  { name: 'BitsStored', group: 0x0028, element: 0x0101, vr: 'US' },
  { name: 'HighBit', group: 0x0028, element: 0x0102, vr: 'US' },
  { name: 'PixelRepresentation', group: 0x0028, element: 0x0103, vr: 'US' },
  { name: 'PixelData', group: 0x7fe0, element: 0x0010, vr: 'OW' },
];

const ascii = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0) & 255);
const numberText = fc.oneof(
  fc.constantFrom(
    '0',
    '-0',
    '1',
    '-1',
    '0.5',
    '1e308',
    '-1e308',
    '1e-308',
    'NaN',
    'inf',
    '',
    ' ',
    'abc',
    '1\\1',
    '0\\0',
    '1\\0\\0\\0\\1\\0',
    '0\\0\\0\\0\\0\\0',
    '1\\0\\0\\1\\0\\0',
    '1\\0\\0\\0\\0\\1',
    '-20\\30\\1e9',
    '2147483648',
    '99999999999999999999',
    '1\\2\\3\\4\\5\\6\\7',
  ),
  fc.string({ unit: fc.constantFrom(...'0123456789.-+eE\\ '.split('')), maxLength: 40 }),
);
const TRANSFER_SYNTAXES = [
  '1.2.840.10008.1.2',
  '1.2.840.10008.1.2.1',
  '1.2.840.10008.1.2.2',
  '1.2.840.10008.1.2.1.99',
  '1.2.840.10008.1.2.4.50',
  '1.2.840.10008.1.2.4.57',
  '1.2.840.10008.1.2.4.70',
  '1.2.840.10008.1.2.4.80',
  '1.2.840.10008.1.2.4.90',
  '1.2.840.10008.1.2.4.91',
  '1.2.840.10008.1.2.5',
  '1.2.840.10008.1.2.4.201',
  '',
];

function valueFor(name: string, vr: Vr): fc.Arbitrary<Uint8Array> {
  switch (vr) {
    case 'US':
      return fc
        .oneof(
          fc.constantFrom(0, 1, 2, 3, 4, 7, 8, 12, 15, 16, 17, 24, 32, 64, 255, 256, 4096, 0x7fff, 0x8000, 0xffff),
          fc.integer({ min: 0, max: 0xffff }),
        )
        .map((v) => Uint8Array.of(v & 255, v >>> 8));
    case 'DS':
    case 'IS':
      return numberText.map(ascii);
    case 'UI':
      return name === 'TransferSyntaxUID'
        ? fc.constantFrom(...TRANSFER_SYNTAXES).map((s) => ascii(s + '\0'))
        : fc.oneof(
            fc.constant(ascii('1.2.3\0')),
            fc.string({ unit: fc.constantFrom(...'0123456789.'.split('')), maxLength: 64 }).map(ascii),
          );
    case 'CS':
      return fc.oneof(
        fc.constantFrom('MONOCHROME1', 'MONOCHROME2', 'RGB', 'PALETTE COLOR', 'YBR_FULL', 'MR', 'CT', '').map(ascii),
        fc.uint8Array({ maxLength: 16 }),
      );
    case 'LO':
      // Quotes, backslashes, control characters and bytes ≥ 0x80 end up in file names and the JSON sidecar.
      return fc.oneof(
        fc
          .constantFrom(
            'FLAIR "quoted"',
            'back\\slash',
            'tab\there',
            'line\nbreak',
            'nul\0inside',
            '\u00e9t\u00e9 \u00ff',
            'a'.repeat(200),
            '../../etc',
            '%s%n',
          )
          .map(ascii),
        fc.uint8Array({ maxLength: 64 }),
      );
    case 'OW':
      return fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 1, maxLength: 300 }));
  }
}

export type DicomMutation =
  | { op: 'element'; tag: string; value: Uint8Array; allFiles: boolean; file: number }
  | { op: 'length'; tag: string; value: number; file: number }
  | { op: 'flip'; file: number; pos: number; bit: number; beforePixels: boolean }
  | { op: 'byte'; file: number; pos: number; value: number; beforePixels: boolean }
  | { op: 'truncate'; file: number; keep: number }
  | { op: 'drop'; file: number }
  | { op: 'duplicate'; file: number }
  | { op: 'garbage'; file: number; bytes: Uint8Array; dicmMagic: boolean };

const file = fc.nat();
export const dicomMutations: fc.Arbitrary<DicomMutation[]> = fc.array(
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(...TAGS).chain((t) =>
        fc.record({
          op: fc.constant('element' as const),
          tag: fc.constant(t.name),
          value: valueFor(t.name, t.vr),
          allFiles: fc.boolean(),
          file,
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('length' as const),
        tag: fc.constantFrom(...TAGS.map((t) => t.name)),
        value: fc.oneof(
          fc.constantFrom(0, 1, 3, 0xfffe, 0xffff, 0x7fffffff, 0xffffffff),
          fc.integer({ min: 0, max: 0xffffffff }),
        ),
        file,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('flip' as const),
        file,
        pos: fc.nat(),
        bit: fc.integer({ min: 0, max: 7 }),
        beforePixels: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('byte' as const),
        file,
        pos: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
        beforePixels: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), file, keep: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('drop' as const), file }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), file }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('garbage' as const),
        file,
        bytes: fc.uint8Array({ minLength: 0, maxLength: 400 }),
        dicmMagic: fc.boolean(),
      }),
    },
  ),
  { minLength: 1, maxLength: 4 },
);

interface Element {
  group: number;
  element: number;
  lengthAt: number;
  lengthBytes: 2 | 4;
  valueAt: number;
  length: number;
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/** The top-level elements of an explicit-VR little-endian file, as dcmjs writes them; stops where it cannot follow. */
function elements(b: Uint8Array): Element[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Element[] = [];
  let p = 132;
  while (p + 8 <= b.length) {
    const vr = String.fromCharCode(b[p + 4], b[p + 5]);
    const long = LONG_VRS.has(vr);
    if (long && p + 12 > b.length) break;
    const length = long ? dv.getUint32(p + 8, true) : dv.getUint16(p + 6, true);
    const valueAt = p + (long ? 12 : 8);
    if (length === 0xffffffff || valueAt + length > b.length) break;
    out.push({
      group: dv.getUint16(p, true),
      element: dv.getUint16(p + 2, true),
      lengthAt: p + (long ? 8 : 6),
      lengthBytes: long ? 4 : 2,
      valueAt,
      length,
    });
    p = valueAt + length;
  }
  return out;
}

function find(b: Uint8Array, tag: string): Element | undefined {
  const t = TAGS.find((x) => x.name === tag);
  return t && elements(b).find((e) => e.group === t.group && e.element === t.element);
}

/** Replaces an element's value (padded to even length), keeping the meta group length right. */
function replaceValue(b: Uint8Array, tag: string, value: Uint8Array): Uint8Array {
  const e = find(b, tag);
  if (!e) return b;
  let v = value.length % 2 ? Uint8Array.from([...value, tag.endsWith('UID') ? 0 : 0x20]) : value;
  if (e.lengthBytes === 2 && v.length > 0xfffe) v = v.subarray(0, 0xfffe);
  const out = new Uint8Array(b.length - e.length + v.length);
  out.set(b.subarray(0, e.valueAt));
  out.set(v, e.valueAt);
  out.set(b.subarray(e.valueAt + e.length), e.valueAt + v.length);
  const dv = new DataView(out.buffer);
  if (e.lengthBytes === 2) dv.setUint16(e.lengthAt, v.length, true);
  else dv.setUint32(e.lengthAt, v.length, true);
  if (e.group === 0x0002) {
    const meta = elements(out).filter((x) => x.group === 0x0002);
    const groupLength = meta.find((x) => x.element === 0);
    if (groupLength) {
      const rest = meta.filter((x) => x.element !== 0);
      const end = rest.length ? rest[rest.length - 1].valueAt + rest[rest.length - 1].length : groupLength.valueAt + 4;
      dv.setUint32(groupLength.valueAt, end - (groupLength.valueAt + 4), true);
    }
  }
  return out;
}

export function mutateSeries(series: DicomFile[], mutations: DicomMutation[]): DicomFile[] {
  let files: DicomFile[] = series.map((f) => ({ ...f, bytes: f.bytes.slice() }));
  for (const m of mutations) {
    if (files.length === 0) break;
    const i = m.file % files.length;
    const f = files[i];
    if (m.op === 'element') {
      for (const g of m.allFiles ? files : [f]) g.bytes = replaceValue(g.bytes, m.tag, m.value);
    } else if (m.op === 'length') {
      const e = find(f.bytes, m.tag);
      if (!e) continue;
      const dv = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
      if (e.lengthBytes === 2) dv.setUint16(e.lengthAt, m.value & 0xffff, true);
      else dv.setUint32(e.lengthAt, m.value >>> 0, true);
    } else if (m.op === 'flip' || m.op === 'byte') {
      const pixels = find(f.bytes, 'PixelData');
      const end = m.beforePixels && pixels ? pixels.valueAt : f.bytes.length;
      if (end === 0) continue;
      const p = m.pos % end;
      f.bytes[p] = m.op === 'flip' ? f.bytes[p] ^ (1 << m.bit) : m.value;
    } else if (m.op === 'truncate') {
      f.bytes = f.bytes.slice(0, m.keep % (f.bytes.length + 1));
    } else if (m.op === 'drop') {
      files = files.filter((_, k) => k !== i);
    } else if (m.op === 'duplicate') {
      files.push({ name: `${f.name}_copy`, bytes: f.bytes.slice() });
    } else {
      const g = new Uint8Array(Math.max(m.bytes.length, m.dicmMagic ? 132 : 0));
      g.set(m.bytes);
      if (m.dicmMagic) g.set(ascii('DICM'), 128);
      f.bytes = g;
    }
  }
  return files;
}
