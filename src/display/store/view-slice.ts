/** The `view` slice: layout, colormap, window/level and the crosshair readout. */
import type { StateCreator } from 'zustand';
import type { Convention } from '../../core/preprocess/slice2d.ts';

export type Layout = 'axial' | 'coronal' | 'sagittal' | 'multiplanar' | 'render';

export interface CrosshairReadout {
  /** World position, RAS mm. */
  mm: [number, number, number];
  /** Voxel indices i, j, k of the scan. */
  vox: [number, number, number];
  /** Scan intensity at the crosshair. */
  value: number;
}

export interface ViewSlice {
  layout: Layout;
  /** Left-right display of axial and coronal slices (the viewer and the report follow it). */
  convention: Convention;
  colormap: string;
  /** Displayed intensity window; null means "automatic" (the viewer's robust range). */
  window: { min: number; max: number } | null;
  crosshair: CrosshairReadout | null;
  setLayout: (layout: Layout) => void;
  setConvention: (convention: Convention) => void;
  setColormap: (colormap: string) => void;
  setWindow: (window: { min: number; max: number } | null) => void;
  setCrosshair: (crosshair: CrosshairReadout | null) => void;
}

export const createViewSlice: StateCreator<ViewSlice, [], [], ViewSlice> = (set) => ({
  layout: 'multiplanar',
  convention: 'radiological',
  colormap: 'gray',
  window: null,
  crosshair: null,
  setLayout: (layout) => set({ layout }),
  setConvention: (convention) => set({ convention }),
  setColormap: (colormap) => set({ colormap }),
  setWindow: (window) => set({ window }),
  setCrosshair: (crosshair) => set({ crosshair }),
});
