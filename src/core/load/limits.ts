/** Size and sanity limits every loader enforces; the README quotes these numbers. */

/** Largest volume accepted: 2^26 voxels (e.g. 512×512×256), 256 MiB as float32. */
export const MAX_VOXELS = 2 ** 26;

/** Largest decompressed file accepted, so a .nii.gz cannot exhaust memory before validation. */
export const MAX_DECOMPRESSED_BYTES = 2 ** 30;

/** Voxel sizes outside this range (mm) are treated as a broken header, not a real scan. */
export const MIN_VOXEL_MM = 0.01;
export const MAX_VOXEL_MM = 50;

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}
