/** Gzip detection and a checked gunzip: truncation, corruption (CRC32, length) and size limit. */
import { Gunzip, inflateSync } from 'fflate';
import { ScanError } from './scan-error.ts';
import { MAX_DECOMPRESSED_BYTES, formatBytes } from './limits.ts';

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Deflate expands at most 1032:1 (a 258-byte match in two bits, RFC 1951). */
const MAX_DEFLATE_RATIO = 1032;

/** Offset of the deflate stream after the gzip member header (RFC 1952 §2.3). */
function deflateStart(bytes: Uint8Array, fileName: string): number {
  if (bytes[2] !== 8)
    throw new ScanError(
      'gzip-corrupt',
      `${fileName}: the gzip data is corrupted (compression method ${bytes[2]}, expected 8 = deflate).`,
    );
  const flags = bytes[3];
  let p = 10;
  if (flags & 4) p += 2 + (bytes[p] | (bytes[p + 1] << 8));
  if (flags & 8) while (p < bytes.length && bytes[p++] !== 0);
  if (flags & 16) while (p < bytes.length && bytes[p++] !== 0);
  if (flags & 2) p += 2;
  if (p >= bytes.length - 8)
    throw new ScanError(
      'gzip-truncated',
      `${fileName}: the gzip data is truncated (the file ends inside the gzip header).`,
    );
  return p;
}

/** Streams through the data counting output bytes only; true when it exceeds `limit`. */
function inflatesPast(bytes: Uint8Array, limit: number): boolean {
  let total = 0;
  let over = false;
  const g = new Gunzip((chunk) => {
    total += chunk.length;
    if (total > limit) over = true;
  });
  const step = 1 << 16;
  try {
    for (let i = 0; i < bytes.length && !over; i += step) g.push(bytes.subarray(i, i + step), i + step >= bytes.length);
  } catch {
    // Damaged streams are reported by the caller's own decompression.
  }
  return over;
}

/**
 * Decompresses a single-member gzip file. fflate does not check the trailer, so the CRC32 and
 * length are verified here: a flipped bit otherwise decodes silently into wrong voxels.
 */
export function gunzipChecked(bytes: Uint8Array, fileName = 'file', maxBytes = MAX_DECOMPRESSED_BYTES): Uint8Array {
  // Smallest gzip: 10-byte header, an empty deflate block, 8-byte trailer.
  if (bytes.length < 18) {
    throw new ScanError(
      'gzip-truncated',
      `${fileName}: the gzip data is truncated (${bytes.length} bytes, too short for a gzip file).`,
    );
  }
  const tail = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 8, 8);
  const expectedCrc = tail.getUint32(0, true);
  const expectedSize = tail.getUint32(4, true);
  // A truncated file's "trailer" is compressed bytes, so a huge size there proves nothing by itself.
  if (expectedSize > maxBytes && inflatesPast(bytes, maxBytes)) {
    throw new ScanError(
      'too-large',
      `${fileName}: decompresses to more than ${formatBytes(maxBytes)}, the limit for one file.`,
    );
  }
  let out: Uint8Array;
  try {
    const body = bytes.subarray(deflateStart(bytes, fileName), bytes.length - 8);
    // Preallocate from the trailer only when it is plausible; fflate's gunzipSync would trust it blindly.
    // A truncated file's "trailer" is compressed bytes: without the ratio bound a 100-byte file could
    // ask for up to 1 GiB here.
    const plausible = expectedSize <= maxBytes && expectedSize <= (body.length + 1) * MAX_DEFLATE_RATIO;
    out = plausible ? inflateSync(body, { out: new Uint8Array(expectedSize) }) : inflateSync(body);
  } catch (e) {
    if (e instanceof ScanError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    if (/unexpected EOF|end of/i.test(msg)) {
      throw new ScanError(
        'gzip-truncated',
        `${fileName}: the gzip data is truncated (the file ends before the compressed stream does).`,
      );
    }
    throw new ScanError('gzip-corrupt', `${fileName}: the gzip data is corrupted (${msg}).`);
  }
  if (out.length >>> 0 !== expectedSize || crc32(out) !== expectedCrc) {
    throw new ScanError(
      'gzip-corrupt',
      `${fileName}: the gzip data is corrupted or truncated (checksum or length in the gzip trailer does not match the data).`,
    );
  }
  return out;
}
