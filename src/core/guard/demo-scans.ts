/**
 * The bundled demo phantoms (public/demo/, written by synth/demo.py and tools/make-demo-phantom.ts), known
 * by the sha256 of their bytes wherever they come from (demo menu, a drop, the CLI): of the .nii.gz file,
 * and of the NIfTI inside it, since a server may send the file with Content-Encoding gzip and fetch then
 * hands the page the inflated bytes. A model that fails its real-scan checks still answers on them, the
 * phantoms it was made for; a test keeps this table equal to the files.
 */
export const DEMO_SCAN_SHA256: Readonly<Record<string, { file: string; nifti: string }>> = {
  'healthy-flair.nii.gz': {
    file: 'f48985b2aaee9da7fdb66b9e8194dfc424f54615d03f679de75195ea27094033',
    nifti: 'e96e1565c784eb65a57562bac97de734a6e49a69a8656a0b15aa35614a9de437',
  },
  'ms-flair.nii.gz': {
    file: '61184df45b180f3b259fec338406359fc85716c56118de471a93ab6f377b8dd9',
    nifti: '34da09d2d6086b4265aa6c925033ffdc157565928eff940052c0c67a4979f744',
  },
  'phantom.nii.gz': {
    file: 'abdbdcae511a0a58ec3c40f561180909dbfb6e36d8c847e3f3bc24f9bc3f3268',
    nifti: '48b8cf3581e76add20876515906eba1e62c29156f718872c9d7346ecc00d32c4',
  },
  'tsc-flair.nii.gz': {
    file: '275b42d6d411716710f216c6304a8251e6f5c1346f21140fcf3b46db08ab7d53',
    nifti: '89ef7415f76d671df63073e72f8ffc86c2fc308690df55e0da46a2d0960d2cde',
  },
  'tsc-t2w.nii.gz': {
    file: 'b16985a4776e9194dbcc85fcd97d0672e908f41add40feee09ce9ffe2cdb37b3',
    nifti: '4b22797de7c945483a5fba7328781800f5677bda69f9d130ae471ffb61632f54',
  },
};

const DEMO = new Set(Object.values(DEMO_SCAN_SHA256).flatMap((d) => [d.file, d.nifti]));

/** `sha256`: hex digest of the input's bytes; null when it could not be computed (never a demo). */
export function isDemoScan(sha256: string | null): boolean {
  return sha256 !== null && DEMO.has(sha256);
}
