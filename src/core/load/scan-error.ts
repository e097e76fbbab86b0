/** The one error type scan loading throws: a machine-readable code plus a message for the page. */

export type ScanErrorCode =
  | 'not-nifti'
  | 'dicom-file'
  | 'analyze-pair'
  | 'wrong-magic'
  | 'gzip-truncated'
  | 'gzip-corrupt'
  | 'header-truncated'
  | 'unsupported-datatype'
  | 'dims-2d'
  | 'dims-multivolume'
  | 'dims-invalid'
  | 'voxel-size'
  | 'bad-affine'
  | 'size-mismatch'
  | 'non-finite'
  | 'too-large'
  | 'dicom-no-series'
  | 'dicom-convert';

/** What the page may offer the user to recover from an error. */
export interface ScanErrorOptions {
  /** A 4D/5D file can be loaded again with `{ firstVolumeOnly: true }`. */
  canTakeFirstVolume?: boolean;
}

export class ScanError extends Error {
  override readonly name = 'ScanError';
  readonly code: ScanErrorCode;
  readonly options: ScanErrorOptions;

  constructor(code: ScanErrorCode, message: string, options: ScanErrorOptions = {}) {
    super(message);
    this.code = code;
    this.options = options;
  }
}

export function isScanError(e: unknown): e is ScanError {
  return e instanceof ScanError;
}
