/**
 * The bundled demo scans (public/demo/, see its README): synthetic phantoms, never patients. The first
 * is shown on first start and matches the default model (TSC FLAIR); file names carry the sequence.
 */
export interface DemoScan {
  name: string;
  url: string;
  /** One line for the menu: what it is, its task/label and sequence, so it can be paired with a model. */
  description: string;
}

// Under the build's base path, so that the app can be served from a sub-folder (docs/deploy.md).
const demo = (name: string, description: string): DemoScan => ({
  name,
  url: `${import.meta.env.BASE_URL}demo/${name}`,
  description,
});

export const DEMO_SCANS: readonly DemoScan[] = [
  demo('tsc-flair.nii.gz', 'Synthetic phantom · TSC task, label TSC (tubers, nodules) · FLAIR'),
  demo('tsc-t2w.nii.gz', 'Synthetic phantom · TSC task, label TSC, the same child · T2w'),
  demo('ms-flair.nii.gz', 'Synthetic phantom · MS task, label MS (white-matter lesions) · FLAIR'),
  demo('healthy-flair.nii.gz', 'Synthetic phantom · MS task, label healthy control (no lesions) · FLAIR'),
  demo('phantom.nii.gz', 'Simple generated test phantom · no task or label · FLAIR-like'),
];

export const DEMO_SCAN = DEMO_SCANS[0];
