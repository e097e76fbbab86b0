/**
 * The bundled demo phantoms (public/demo/, written by synth/demo.py and tools/make-demo-phantom.ts), known
 * by the sha256 of their file bytes wherever they come from (demo menu, a drop, the CLI). A model that fails
 * its real-scan checks is still shown answering on them, the phantoms it was made for; a test keeps this
 * table equal to the files.
 */
export const DEMO_SCAN_SHA256: Readonly<Record<string, string>> = {
  'healthy-flair.nii.gz': 'f48985b2aaee9da7fdb66b9e8194dfc424f54615d03f679de75195ea27094033',
  'ms-flair.nii.gz': '61184df45b180f3b259fec338406359fc85716c56118de471a93ab6f377b8dd9',
  'phantom.nii.gz': 'abdbdcae511a0a58ec3c40f561180909dbfb6e36d8c847e3f3bc24f9bc3f3268',
  'tsc-flair.nii.gz': '275b42d6d411716710f216c6304a8251e6f5c1346f21140fcf3b46db08ab7d53',
  'tsc-t2w.nii.gz': 'b16985a4776e9194dbcc85fcd97d0672e908f41add40feee09ce9ffe2cdb37b3',
};

const DEMO = new Set(Object.values(DEMO_SCAN_SHA256));

/** `sha256`: hex digest of the input file's bytes; null when it could not be computed (never a demo). */
export function isDemoScan(sha256: string | null): boolean {
  return sha256 !== null && DEMO.has(sha256);
}
