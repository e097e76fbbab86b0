/**
 * The report export: a PNG with the key slices (through the Grad-CAM peak) with the overlay, the
 * result(s), the model card summary, the timings and the not-a-medical-device notice. Slices are
 * drawn from the volume itself on a 2D canvas, so the report does not depend on the WebGL viewer,
 * but oriented as the viewer shows them (orientedSlice: nearest RAS axes, the viewer's radiological
 * or neurological convention, true voxel aspect) with orientation letters at their edges.
 */
import type { Volume } from '../../core/volume.ts';
import type { ModelRun } from './inference-slice.ts';
import { orientedSlice, type Axis, type Convention, type OrientedSlice } from '../../core/preprocess/slice2d.ts';

/** Voxel of the largest value (the Grad-CAM peak), or the centre when all are zero. */
export function peakVoxel(data: ArrayLike<number>, dims: readonly number[]): [number, number, number] {
  let best = -Infinity,
    at = -1;
  for (let s = 0; s < data.length; s++)
    if (data[s] > best) {
      best = data[s];
      at = s;
    }
  if (!(best > 0)) return [dims[0] >> 1, dims[1] >> 1, dims[2] >> 1];
  const nx = dims[0],
    ny = dims[1];
  return [at % nx, Math.floor(at / nx) % ny, Math.floor(at / (nx * ny))];
}

/** 2nd and 98th percentiles (on a subsample), the display window. */
export function robustRange(data: Float32Array): [number, number] {
  const step = Math.max(1, Math.floor(data.length / 100_000));
  const sample: number[] = [];
  for (let s = 0; s < data.length; s += step) sample.push(data[s]);
  sample.sort((a, b) => a - b);
  return [sample[Math.floor(sample.length * 0.02)], sample[Math.floor(sample.length * 0.98)]];
}

/** One key slice as pixels (the Grad-CAM overlay blended in above the threshold) and its orientation. */
export function sliceImage(
  vol: Volume,
  cam: Float32Array | undefined,
  worldAxis: Axis,
  at: readonly number[],
  window: [number, number],
  overlay: { threshold: number; opacity: number },
  convention: Convention,
): { image: ImageData; slice: OrientedSlice } {
  const s = orientedSlice(vol.data, vol.dims, vol.affine, worldAxis, at, convention);
  const c = cam ? orientedSlice(cam, vol.dims, vol.affine, worldAxis, at, convention).values : null;
  const [lo, hi] = window;
  const img = new ImageData(s.w, s.h);
  for (let p = 0; p < s.values.length; p++) {
    const g = Math.max(0, Math.min(1, (s.values[p] - lo) / (hi - lo || 1))) * 255;
    let r = g,
      gg = g,
      b = g;
    const v = c ? c[p] : 0;
    if (v > overlay.threshold) {
      // 'warm' ramp: red → yellow with rising value.
      const a = overlay.opacity;
      r = (1 - a) * r + a * 255;
      gg = (1 - a) * gg + a * 255 * v;
      b = (1 - a) * b;
    }
    img.data.set([r, gg, b, 255], p * 4);
  }
  return { image: img, slice: s };
}

const VIEW_NAMES: Record<Axis, string> = { 2: 'Axial', 1: 'Coronal', 0: 'Sagittal' };

/** Draws a slice into a square tile (true aspect, centred, black surround) with its orientation letters. */
function drawTile(
  g: CanvasRenderingContext2D,
  { image, slice }: { image: ImageData; slice: OrientedSlice },
  x: number,
  y: number,
  size: number,
): void {
  g.fillStyle = '#000';
  g.fillRect(x, y, size, size);
  const tmp = document.createElement('canvas');
  tmp.width = image.width;
  tmp.height = image.height;
  tmp.getContext('2d')!.putImageData(image, 0, 0);
  const wMm = slice.w * slice.pixelMm[0],
    hMm = slice.h * slice.pixelMm[1];
  const scale = (size - 28) / Math.max(wMm, hMm);
  const dw = wMm * scale,
    dh = hMm * scale;
  g.imageSmoothingEnabled = true;
  g.drawImage(tmp, x + (size - dw) / 2, y + (size - dh) / 2, dw, dh);
  g.fillStyle = '#5fdc7a';
  g.font = 'bold 13px sans-serif';
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.fillText(slice.labels.top, x + size / 2, y + 8);
  g.fillText(slice.labels.bottom, x + size / 2, y + size - 8);
  g.fillText(slice.labels.left, x + 8, y + size / 2);
  g.fillText(slice.labels.right, x + size - 8, y + size / 2);
  g.textAlign = 'start';
  g.textBaseline = 'alphabetic';
}

export interface ReportInput {
  volume: Volume;
  fileName: string;
  runs: ModelRun[];
  overlay: { threshold: number; opacity: number };
  /** The viewer's left-right convention, which the slices follow. */
  convention: Convention;
}

/** Draws the report on a new canvas. */
export function drawReport({ volume, fileName, runs, overlay, convention }: ReportInput): HTMLCanvasElement {
  const cam = runs.find((r) => r.result.gradCam)?.result.gradCam;
  const peak = peakVoxel(cam ?? new Float32Array(0), volume.dims);
  const window = robustRange(volume.data);
  const views = [2, 1, 0] as Axis[];
  const slices = views.map((axis) => sliceImage(volume, cam, axis, peak, window, overlay, convention));
  const tile = 256;
  const W = Math.max(3 * tile + 40, 820);
  const canvas = document.createElement('canvas');
  canvas.width = W;
  const top = 118;
  canvas.height = top + 20 + tile + 40 + runs.length * 150 + 60;
  const g = canvas.getContext('2d')!;
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = '#000';
  g.font = 'bold 20px sans-serif';
  g.fillText('QuMRI report — research demonstration, NOT A MEDICAL DEVICE', 10, 30);
  g.font = '14px sans-serif';
  g.fillText(`Scan: ${fileName} (${volume.dims.join('×')} voxels)   Generated ${new Date().toISOString()}`, 10, 55);
  g.fillText(
    `Slices through the Grad-CAM peak at voxel (${peak.join(', ')}), as the viewer shows them; overlay above ${overlay.threshold.toFixed(2)}.`,
    10,
    78,
  );
  g.fillText(
    convention === 'radiological'
      ? "Radiological convention: the patient's right is on the image's left (R, L, A, P, S, I at the edges)."
      : "Neurological convention: the patient's right is on the image's right (R, L, A, P, S, I at the edges).",
    10,
    98,
  );
  slices.forEach((sl, i) => {
    drawTile(g, sl, 10 + i * (tile + 10), top, tile);
    g.fillStyle = '#000';
    g.fillText(
      `${VIEW_NAMES[views[i]]}: ${sl.slice.labels.left} left, ${sl.slice.labels.top} up`,
      10 + i * (tile + 10),
      top + tile + 18,
    );
  });
  let y = top + tile + 50;
  for (const r of runs) {
    const m = r.manifest,
      t = r.result.timings;
    g.font = 'bold 16px sans-serif';
    g.fillText(
      `${m.name}: ${r.result.label}  (P(${m.classes[1]}) = ${r.result.probability.toFixed(4)}, threshold ${m.threshold})`,
      10,
      y,
    );
    g.font = '13px sans-serif';
    const auc = m.metrics.auc as { value: number; ci95?: number[] } | undefined;
    g.fillText(
      `Backend ${r.result.backend.toUpperCase()} · model load ${r.model.loadMs.toFixed(0)} ms · preprocess ${t.preprocessMs.toFixed(0)} ms · backbone ${t.backboneMs.toFixed(0)} ms · head ${t.headMs.toFixed(0)} ms`,
      10,
      y + 22,
    );
    g.fillText(
      `Trained on: ${m.training_data.synthetic ? 'SYNTHETIC data. ' : ''}${m.training_data.description ?? ''}`.slice(
        0,
        130,
      ),
      10,
      y + 44,
    );
    g.fillText(
      `Test metrics: ${auc ? `AUC ${auc.value.toFixed(3)}${auc.ci95 ? ` [${auc.ci95[0]}, ${auc.ci95[1]}]` : ''}` : 'none'} · Intended use: ${m.intended_use}`.slice(
        0,
        130,
      ),
      10,
      y + 66,
    );
    g.fillText(`Limitations: ${m.limitations.join('; ')}`.slice(0, 130), 10, y + 88);
    y += 150;
  }
  g.font = 'bold 14px sans-serif';
  g.fillText('Not a medical device. Not for diagnosis or treatment decisions.', 10, y);
  return canvas;
}

export async function downloadReport(input: ReportInput): Promise<void> {
  const canvas = drawReport(input);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the browser could not encode the report as PNG');
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), {
    href: url,
    download: `qumri-report-${input.fileName.replace(/\.nii(\.gz)?$/i, '')}.png`,
  });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
