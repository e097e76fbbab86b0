/**
 * QuViewer: the page's facade over NiiVue. It shows one scan (a core Volume) plus named overlay
 * volumes (brain mask, Grad-CAM…) and reports crosshair and window changes through callbacks.
 */
import { NVImage, Niivue, SHOW_RENDER, SLICE_TYPE } from '@niivue/niivue';
import type { Volume } from '../../core/volume.ts';
import { writeNifti } from '../../core/load/nifti-write.ts';
import type { CrosshairReadout, Layout } from '../store/view-slice.ts';

export interface OverlayOptions {
  colormap?: string;
  /** 0–1. */
  opacity?: number;
  /** Intensity window of the overlay; defaults to its own min..max. */
  min?: number;
  max?: number;
}

export interface ViewerCallbacks {
  onCrosshair?: (c: CrosshairReadout) => void;
  onWindow?: (w: { min: number; max: number }) => void;
}

const SLICE: Record<Layout, SLICE_TYPE> = {
  axial: SLICE_TYPE.AXIAL,
  coronal: SLICE_TYPE.CORONAL,
  sagittal: SLICE_TYPE.SAGITTAL,
  multiplanar: SLICE_TYPE.MULTIPLANAR,
  render: SLICE_TYPE.RENDER,
};

/** Reading-room colours: near-black background, a muted green crosshair. */
const BACK = [0.04, 0.05, 0.06, 1];
const CROSSHAIR = [0.3, 0.85, 0.45, 0.9];

async function toImage(vol: Volume, name: string, opts: OverlayOptions): Promise<NVImage> {
  const bytes = writeNifti(vol, { description: name });
  return NVImage.loadFromUrl({
    url: `${name}.nii`,
    name: `${name}.nii`,
    buffer: bytes.buffer as ArrayBuffer,
    colormap: opts.colormap ?? 'gray',
    opacity: opts.opacity ?? 1,
    ...(opts.min !== undefined && opts.max !== undefined ? { cal_min: opts.min, cal_max: opts.max } : {}),
  });
}

export class QuViewer {
  private nv: Niivue | null = null;
  private scan: NVImage | null = null;
  private readonly overlays = new Map<string, NVImage>();
  private pending: Promise<unknown> = Promise.resolve();
  private callbacks: ViewerCallbacks = {};

  /** Binds to a canvas once; later calls with the same canvas do nothing. */
  async attach(canvas: HTMLCanvasElement, callbacks: ViewerCallbacks): Promise<void> {
    this.callbacks = callbacks;
    if (this.nv) return;
    const nv = new Niivue({
      backColor: BACK,
      crosshairColor: CROSSHAIR,
      show3Dcrosshair: true,
      isOrientCube: false,
      multiplanarShowRender: SHOW_RENDER.ALWAYS,
      dragAndDropEnabled: false,
      loadingText: '',
      textHeight: 0.035,
    });
    this.nv = nv;
    await nv.attachToCanvas(canvas);
    nv.onLocationChange = (loc) => this.reportLocation(loc);
    nv.onIntensityChange = (img) => {
      if (img === this.scan) this.callbacks.onWindow?.({ min: img.cal_min ?? 0, max: img.cal_max ?? 0 });
    };
  }

  private reportLocation(loc: unknown): void {
    const l = loc as { mm?: number[]; vox?: number[]; values?: { value: number; name: string }[] };
    const v = l.values?.[0];
    if (!l.mm || !l.vox || !v) return;
    this.callbacks.onCrosshair?.({ mm: [l.mm[0], l.mm[1], l.mm[2]], vox: [l.vox[0], l.vox[1], l.vox[2]], value: v.value });
  }

  /** Serialises async NiiVue changes so a quick second load cannot interleave with the first. */
  private queue<T>(job: (nv: Niivue) => Promise<T>): Promise<T> {
    const run = this.pending.then(() => {
      if (!this.nv) throw new Error('QuViewer: attach() must run before showing volumes');
      return job(this.nv);
    });
    this.pending = run.catch(() => undefined);
    return run;
  }

  /** Replaces the scan; overlays are dropped because they belong to the previous scan. */
  showScan(vol: Volume, name: string, opts: { colormap?: string } = {}): Promise<void> {
    return this.queue(async (nv) => {
      const img = await toImage(vol, name, { colormap: opts.colormap });
      for (const v of [...nv.volumes]) nv.removeVolume(v);
      this.overlays.clear();
      nv.addVolume(img);
      this.scan = img;
      this.callbacks.onWindow?.({ min: img.cal_min ?? 0, max: img.cal_max ?? 0 });
    });
  }

  /** Adds or replaces an overlay drawn over the scan (same grid or any grid with a valid affine). */
  setOverlay(name: string, vol: Volume, opts: OverlayOptions = {}): Promise<void> {
    return this.queue(async (nv) => {
      const img = await toImage(vol, name, { colormap: 'warm', opacity: 0.5, ...opts });
      const old = this.overlays.get(name);
      if (old) nv.removeVolume(old);
      nv.addVolume(img);
      this.overlays.set(name, img);
    });
  }

  removeOverlay(name: string): Promise<void> {
    return this.queue(async (nv) => {
      const old = this.overlays.get(name);
      if (!old) return;
      nv.removeVolume(old);
      this.overlays.delete(name);
    });
  }

  overlayNames(): string[] {
    return [...this.overlays.keys()];
  }

  setLayout(layout: Layout): void {
    this.nv?.setSliceType(SLICE[layout]);
  }

  setColormap(colormap: string): void {
    if (!this.nv || !this.scan) return;
    this.nv.setColormap(this.scan.id, colormap);
  }

  setWindow(min: number, max: number): void {
    if (!this.nv || !this.scan || !(max > min)) return;
    this.scan.cal_min = min;
    this.scan.cal_max = max;
    this.nv.updateGLVolume();
  }

  /** Back to NiiVue's robust (2–98 %) window of the scan; returns it. */
  autoWindow(): { min: number; max: number } | null {
    const img = this.scan;
    if (!img || img.robust_min === undefined || img.robust_max === undefined) return null;
    this.setWindow(img.robust_min, img.robust_max);
    return { min: img.robust_min, max: img.robust_max };
  }

  /** Colormaps NiiVue knows, for the picker. */
  colormaps(): string[] {
    return this.nv?.colormaps() ?? ['gray'];
  }
}

/** The page's one viewer; panels from other features use it for overlays. */
export const viewer = new QuViewer();
