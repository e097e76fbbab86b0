/**
 * QuViewer: the page's facade over NiiVue. It shows one scan (a core Volume) plus named overlay
 * volumes (brain mask, Grad-CAM…) and reports crosshair and window changes through callbacks.
 */
import { NVImage, Niivue, SHOW_RENDER, SLICE_TYPE } from '@niivue/niivue';
import type { Volume } from '../../core/volume.ts';
import { writeNifti } from '../../core/load/nifti-write.ts';
import type { CrosshairReadout, Layout } from '../store/view-slice.ts';
import type { Convention } from '../../core/preprocess/slice2d.ts';

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
  private attaching: Promise<void> | null = null;
  private callbacks: ViewerCallbacks = {};
  /** The queued, not yet started, GPU update every change since the last one waits for. */
  private flushQueued: Promise<void> | null = null;
  private layout: Layout | null = null;
  private convention: Convention = 'radiological';
  private canvas: HTMLCanvasElement | null = null;

  /** Binds to a canvas once; later calls with the same canvas do nothing. */
  attach(canvas: HTMLCanvasElement, callbacks: ViewerCallbacks): Promise<void> {
    this.callbacks = callbacks;
    this.canvas ??= canvas;
    this.attaching ??= this.create(canvas);
    return this.attaching;
  }

  private async create(canvas: HTMLCanvasElement): Promise<void> {
    const nv = new Niivue({
      backColor: BACK,
      crosshairColor: CROSSHAIR,
      show3Dcrosshair: true,
      isOrientCube: false,
      multiplanarShowRender: SHOW_RENDER.ALWAYS,
      dragAndDropEnabled: false,
      loadingText: '',
      textHeight: 0.035,
      isRadiologicalConvention: this.convention === 'radiological',
    });
    await nv.attachToCanvas(canvas);
    nv.onLocationChange = (loc) => this.reportLocation(loc);
    nv.onIntensityChange = (img) => {
      if (img === this.scan) this.callbacks.onWindow?.({ min: img.cal_min ?? 0, max: img.cal_max ?? 0 });
    };
    // A convention chosen while attaching (setConvention is a no-op until then).
    nv.opts.isRadiologicalConvention = this.convention === 'radiological';
    this.nv = nv;
  }

  private reportLocation(loc: unknown): void {
    const l = loc as { mm?: number[]; vox?: number[]; values?: { value: number; name: string }[] };
    const v = l.values?.[0];
    if (!l.mm || !l.vox || !v) return;
    this.callbacks.onCrosshair?.({
      mm: [l.mm[0], l.mm[1], l.mm[2]],
      vox: [l.vox[0], l.vox[1], l.vox[2]],
      value: v.value,
    });
  }

  /**
   * Serialises async NiiVue changes so a quick second load cannot interleave with the first. Jobs
   * (which wait for attach()) change only the layer list; the GPU sees it in a later flush.
   */
  private queue<T>(job: (nv: Niivue) => Promise<T> | T): Promise<T> {
    const run = this.pending.then(async () => {
      await this.attaching;
      if (!this.nv) throw new Error('QuViewer: attach() must run before showing volumes');
      return job(this.nv);
    });
    this.pending = run.catch(() => undefined);
    return run;
  }

  /**
   * One GPU update for every layer change queued before it. NiiVue re-uploads and re-samples every
   * layer on each addVolume/removeVolume; with a software GPU (SwiftShader on a CPU-only machine)
   * each such refresh of a clinical volume costs about a second, so a new scan that replaces the
   * old scan and its overlays, or an overlay that replaces another, gets exactly one.
   */
  private flush(): Promise<void> {
    this.flushQueued ??= this.queue((nv) => {
      this.flushQueued = null;
      const layers = [this.scan, ...this.overlays.values()].filter((v): v is NVImage => v !== null);
      nv.volumes = layers;
      nv.back = layers[0] ?? null;
      nv.overlays = layers.slice(1);
      nv.updateGLVolume();
      // What is on screen, for tests and the benchmark: the overlays drawn over the scan.
      this.canvas?.setAttribute('data-overlays', [...this.overlays.keys()].join(' '));
    });
    return this.flushQueued;
  }

  /** Replaces the scan; overlays are dropped because they belong to the previous scan. */
  async showScan(vol: Volume, name: string, opts: { colormap?: string } = {}): Promise<void> {
    const img = await this.queue(async () => {
      const image = await toImage(vol, name, { colormap: opts.colormap });
      this.overlays.clear();
      this.scan = image;
      return image;
    });
    await this.flush();
    this.callbacks.onWindow?.({ min: img.cal_min ?? 0, max: img.cal_max ?? 0 });
  }

  /** Adds or replaces an overlay drawn over the scan (same grid or any grid with a valid affine). */
  async setOverlay(name: string, vol: Volume, opts: OverlayOptions = {}): Promise<void> {
    await this.queue(async () => {
      this.overlays.set(name, await toImage(vol, name, { colormap: 'warm', opacity: 0.5, ...opts }));
    });
    await this.flush();
  }

  async removeOverlay(name: string): Promise<void> {
    const removed = await this.queue(() => this.overlays.delete(name));
    if (removed) await this.flush();
  }

  overlayNames(): string[] {
    return [...this.overlays.keys()];
  }

  /**
   * Radiological (the patient's right on the screen's left, axial and coronal) or neurological
   * display; the report's slices follow the same choice. A redraw only (NiiVue's own setter would
   * re-upload every layer).
   */
  setConvention(convention: Convention): void {
    this.convention = convention;
    if (!this.nv || this.nv.opts.isRadiologicalConvention === (convention === 'radiological')) return;
    this.nv.opts.isRadiologicalConvention = convention === 'radiological';
    this.nv.drawScene();
  }

  /** Changes the layout; the same layout again draws nothing. */
  setLayout(layout: Layout): void {
    if (!this.nv || layout === this.layout) return;
    this.layout = layout;
    this.nv.setSliceType(SLICE[layout]);
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
