/** The scan shown on first start (tools/make-demo-phantom.ts writes it). */
export const DEMO_SCAN = { url: '/demo/phantom.nii.gz', name: 'phantom.nii.gz' };
