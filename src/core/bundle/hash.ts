/**
 * SHA-256 of a file's bytes through WebCrypto (browser, worker and Node ≥ 20 alike), and the
 * check of a bundle file against its manifest entry.
 */
import { BundleError, type FileEntry } from './manifest.ts';

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // Browsers leave crypto.subtle undefined outside secure contexts: say so rather than fail on 'digest' of undefined.
  const subtle = globalThis.crypto?.subtle as SubtleCrypto | undefined;
  if (!subtle) {
    throw new Error(
      'cannot compute SHA-256: crypto.subtle is unavailable; browsers provide it only in secure contexts (pages served over https or from localhost)',
    );
  }
  const digest = await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Throws BundleError unless `bytes` match the manifest's size and sha256 for `name`. */
export async function verifyFile(bundleId: string, name: string, bytes: Uint8Array, entry: FileEntry): Promise<void> {
  if (bytes.byteLength !== entry.bytes) {
    throw new BundleError(
      `model ${bundleId}: ${name} is ${bytes.byteLength} bytes, the manifest says ${entry.bytes}; refusing the model`,
    );
  }
  const got = await sha256Hex(bytes);
  if (got !== entry.sha256) {
    throw new BundleError(
      `model ${bundleId}: ${name} has sha256 ${got}, the manifest says ${entry.sha256}; the file was altered or corrupted, refusing the model`,
    );
  }
}
