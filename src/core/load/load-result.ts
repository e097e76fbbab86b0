/** Loading's answer as a value (LoadResult, src/core/protocol.ts): a scan, or a failure the page shows. */
import type { LoadFailure, LoadResult } from '../protocol.ts';
import { parseNifti, type ParseOptions } from './nifti.ts';
import { ScanError } from './scan-error.ts';

/** A ScanError keeps its code; anything else is 'internal', a loader bug rather than a bad input. */
export function loadFailure(e: unknown): LoadFailure {
  if (e instanceof ScanError) return { ok: false, error: { code: e.code, message: e.message, options: e.options } };
  const message = e instanceof Error ? e.message : String(e);
  return { ok: false, error: { code: 'internal', message: `Unexpected loading failure: ${message}`, options: {} } };
}

export function loadNifti(bytes: Uint8Array, fileName: string, opts: ParseOptions = {}): LoadResult {
  try {
    return { ok: true, scan: parseNifti(bytes, fileName, opts) };
  } catch (e) {
    return loadFailure(e);
  }
}
