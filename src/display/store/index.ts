/**
 * The page's one zustand store, built from typed slices. To add a slice: write
 * `createXSlice: StateCreator<AppState, [], [], XSlice>` next to your feature, add `XSlice` to
 * AppState and `...createXSlice(...a)` below.
 */
import { create } from 'zustand';
import { createScanSlice, type ScanSlice } from './scan-slice.ts';
import { createViewSlice, type ViewSlice } from './view-slice.ts';
import { createInferenceSlice, type InferenceSlice } from '../inference/inference-slice.ts';
import { createPreprocessSlice, type PreprocessSlice } from '../preprocess/preprocess-slice.ts';
import { createAdaptSlice, type AdaptSlice } from '../adapt/adapt-slice.ts';

export type AppState = ScanSlice & ViewSlice & InferenceSlice & PreprocessSlice & AdaptSlice;

export const useStore = create<AppState>()((...a) => ({
  ...createScanSlice(...a),
  ...createViewSlice(...a),
  ...createInferenceSlice(...a),
  ...createPreprocessSlice(...a),
  ...createAdaptSlice(...a),
}));

export { selectSequence, selectVolume } from './scan-slice.ts';
export type { ScanErrorView } from './scan-slice.ts';
export type { CrosshairReadout, Layout } from './view-slice.ts';
