/** Grad-CAM for a prediction: the map on the scan's own voxels, ready to overlay in NiiVue. */
import { camOnFeatureGrid, camToScan, type Mat4 } from './gradcam.ts';

export { camOnFeatureGrid, camToScan, invert4, multiply4 } from './gradcam.ts';

export interface ExplainParams {
  featureMap: Float32Array;
  featureMapDims: number[];
  channelGrad: ArrayLike<number>;
  grid: readonly number[];
  gridAffine: Mat4;
  scanDims: readonly number[];
  scanAffine: Mat4;
  /** Brain mask on the model grid (the preprocessing's), so the map stays on the brain. */
  gridMask?: Uint8Array;
}

/** Grad-CAM in [0, 1] on the scan's voxel grid (all zeros when no channel supports the class). */
export function gradCam(p: ExplainParams): Float32Array {
  const { cam, dims } = camOnFeatureGrid(p);
  return camToScan({
    cam,
    camDims: dims,
    grid: p.grid,
    gridAffine: p.gridAffine,
    scanDims: p.scanDims,
    scanAffine: p.scanAffine,
    gridMask: p.gridMask,
  });
}
