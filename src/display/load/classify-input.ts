/**
 * Decides how a set of dropped or picked files is loaded: for the viewer one NIfTI, a DICOM series
 * set, or an error; for the adaptation panel, which takes many scans at once, which files are NIfTI
 * scans and which go to DICOM conversion together.
 */

export interface InputProbe {
  name: string;
  /** The first 132 bytes (enough for the NIfTI header size, gzip magic and the DICOM "DICM" tag). */
  head: Uint8Array;
}

export type InputPlan =
  { kind: 'nifti'; index: number } | { kind: 'dicom'; indices: number[] } | { kind: 'error'; message: string };

function looksNifti(p: InputProbe): boolean {
  if (/\.nii(\.gz)?$/i.test(p.name)) return true;
  if (p.head.length < 4) return false;
  const dv = new DataView(p.head.buffer, p.head.byteOffset, p.head.byteLength);
  return [348, 540].includes(dv.getInt32(0, true)) || [348, 540].includes(dv.getInt32(0, false));
}

function looksDicom(p: InputProbe): boolean {
  if (/\.(dcm|dicom|ima)$/i.test(p.name)) return true;
  return p.head.length >= 132 && String.fromCharCode(...p.head.subarray(128, 132)) === 'DICM';
}

/** Sidecars and OS clutter that travel with dropped folders but are never images. */
const IGNORED = /(^\.|^DICOMDIR$|\.(json|txt|csv|tsv|md|bval|bvec|xml|html?|pdf)$)|^Thumbs\.db$/i;

export function planInput(files: InputProbe[]): InputPlan {
  if (files.length === 0) return { kind: 'error', message: 'No files were dropped.' };
  // A single file always goes to a reader, which says precisely what it is not.
  if (files.length === 1)
    return looksDicom(files[0]) && !looksNifti(files[0])
      ? { kind: 'dicom', indices: [0] }
      : { kind: 'nifti', index: 0 };
  const candidates = files.map((f, i) => ({ f, i })).filter(({ f }) => !IGNORED.test(f.name));
  if (candidates.length === 0) {
    return {
      kind: 'error',
      message: `None of the ${files.length} file(s) is an image (${files
        .slice(0, 3)
        .map((f) => f.name)
        .join(', ')}…): drop a .nii/.nii.gz file or a DICOM series.`,
    };
  }
  const nifti = candidates.filter(({ f }) => looksNifti(f));
  if (nifti.length > 1) {
    return {
      kind: 'error',
      message: `${nifti.length} NIfTI files were dropped (${nifti
        .slice(0, 3)
        .map(({ f }) => f.name)
        .join(', ')}…); drop one scan at a time.`,
    };
  }
  if (nifti.length === 1 && candidates.length === 1) return { kind: 'nifti', index: nifti[0].i };
  const dicom = candidates.filter(({ f }) => looksDicom(f));
  if (nifti.length === 1 && dicom.length === 0) return { kind: 'nifti', index: nifti[0].i };
  if (dicom.length > 0 || candidates.length > 1)
    return { kind: 'dicom', indices: candidates.filter(({ f }) => !looksNifti(f)).map(({ i }) => i) };
  // One file that is neither: the NIfTI reader explains what it is not.
  return { kind: 'nifti', index: candidates[0].i };
}

export interface AdaptInputPlan {
  /** Each one scan. */
  nifti: number[];
  /** Converted together: every series among them is one scan. */
  dicom: number[];
}

/**
 * The adaptation panel's split of a drop, by the rules planInput applies: sidecars and OS clutter
 * are skipped, NIfTI files are scans of their own, and the other files go to dcm2niix when one of
 * them looks like DICOM or there are several; a lone unknown file goes to the NIfTI reader, which
 * says what it is not.
 */
export function planAdaptInput(files: InputProbe[]): AdaptInputPlan {
  const candidates = files.map((f, i) => ({ f, i })).filter(({ f }) => !IGNORED.test(f.name));
  const nifti = candidates.filter(({ f }) => looksNifti(f)).map(({ i }) => i);
  const rest = candidates.filter(({ f }) => !looksNifti(f));
  if (rest.length === 1 && !looksDicom(rest[0].f))
    return { nifti: [...nifti, rest[0].i].sort((a, b) => a - b), dicom: [] };
  return { nifti, dicom: rest.map(({ i }) => i) };
}
