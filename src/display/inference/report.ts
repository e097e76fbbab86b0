/**
 * The report export: a PNG with the key slices (through the Grad-CAM peak) with the overlay, the
 * result(s), the model card summary, the timings and the not-a-medical-device notice. Slices are
 * drawn from the volume itself on a 2D canvas, so the report does not depend on the WebGL viewer.
 */
import type { Volume } from '../../core/volume.ts';
import type { ModelRun } from './inference-slice.ts';
import { extractSlice, type Axis } from './slice2d.ts';

/** Voxel of the largest value (the Grad-CAM peak), or the centre when all are zero. */
export function peakVoxel(data: ArrayLike<number>, dims: readonly number[]): [number, number, number] {
  let best = -Infinity, at = -1;
  for (let s = 0; s < data.length; s++) if (data[s] > best) { best = data[s]; at = s; }
  if (!(best > 0)) return [dims[0] >> 1, dims[1] >> 1, dims[2] >> 1];
  const nx = dims[0], ny = dims[1];
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

function sliceImage(vol: Volume, cam: Float32Array | undefined, axis: Axis, index: number, threshold: number, opacity: number): ImageData {
  const s = extractSlice(vol.data, vol.dims, axis, index);
  const c = cam ? extractSlice(cam, vol.dims, axis, index).values : null;
  const [lo, hi] = robustRange(vol.data);
  const img = new ImageData(s.w, s.h);
  for (let p = 0; p < s.values.length; p++) {
    const g = Math.max(0, Math.min(1, (s.values[p] - lo) / (hi - lo || 1))) * 255;
    let r = g, gg = g, b = g;
    const v = c ? c[p] : 0;
    if (v > threshold) {
      // 'warm' ramp: red → yellow with rising value.
      const a = opacity;
      r = (1 - a) * r + a * 255;
      gg = (1 - a) * gg + a * 255 * v;
      b = (1 - a) * b;
    }
    img.data.set([r, gg, b, 255], p * 4);
  }
  return img;
}

export interface ReportInput {
  volume: Volume;
  fileName: string;
  runs: ModelRun[];
  overlay: { threshold: number; opacity: number };
}

/** Draws the report on a new canvas. */
export function drawReport({ volume, fileName, runs, overlay }: ReportInput): HTMLCanvasElement {
  const cam = runs.find((r) => r.result.gradCam)?.result.gradCam;
  const peak = peakVoxel(cam ?? new Float32Array(0), volume.dims);
  const slices = ([2, 1, 0] as Axis[]).map((axis) => sliceImage(volume, cam, axis, peak[axis], overlay.threshold, overlay.opacity));
  const tile = 256;
  const W = Math.max(3 * tile + 40, 820);
  const canvas = document.createElement('canvas');
  canvas.width = W;
  canvas.height = 120 + tile + 40 + runs.length * 150 + 60;
  const g = canvas.getContext('2d')!;
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = '#000';
  g.font = 'bold 20px sans-serif';
  g.fillText('QuMRI report — research demonstration, NOT A MEDICAL DEVICE', 10, 30);
  g.font = '14px sans-serif';
  g.fillText(`Scan: ${fileName} (${volume.dims.join('×')} voxels)   Generated ${new Date().toISOString()}`, 10, 55);
  g.fillText(`Slices through the Grad-CAM peak at voxel (${peak.join(', ')}); overlay above ${overlay.threshold.toFixed(2)}.`, 10, 78);
  slices.forEach((img, i) => {
    const tmp = document.createElement('canvas');
    tmp.width = img.width;
    tmp.height = img.height;
    tmp.getContext('2d')!.putImageData(img, 0, 0);
    const scale = Math.min(tile / img.width, tile / img.height);
    g.drawImage(tmp, 10 + i * (tile + 10), 100, img.width * scale, img.height * scale);
    g.fillText(['k (axial) slice', 'j (coronal) slice', 'i (sagittal) slice'][i], 10 + i * (tile + 10), 100 + tile + 18);
  });
  let y = 100 + tile + 50;
  for (const r of runs) {
    const m = r.manifest, t = r.result.timings;
    g.font = 'bold 16px sans-serif';
    g.fillText(`${m.name}: ${r.result.label}  (P(${m.classes[1]}) = ${r.result.probability.toFixed(4)}, threshold ${m.threshold})`, 10, y);
    g.font = '13px sans-serif';
    const auc = m.metrics.auc as { value: number; ci95?: number[] } | undefined;
    g.fillText(`Backend ${r.result.backend.toUpperCase()} · model load ${r.model.loadMs.toFixed(0)} ms · preprocess ${t.preprocessMs.toFixed(0)} ms · backbone ${t.backboneMs.toFixed(0)} ms · head ${t.headMs.toFixed(0)} ms`, 10, y + 22);
    g.fillText(`Trained on: ${m.training_data.synthetic ? 'SYNTHETIC data. ' : ''}${m.training_data.description ?? ''}`.slice(0, 130), 10, y + 44);
    g.fillText(`Test metrics: ${auc ? `AUC ${auc.value.toFixed(3)}${auc.ci95 ? ` [${auc.ci95[0]}, ${auc.ci95[1]}]` : ''}` : 'none'} · Intended use: ${m.intended_use}`.slice(0, 130), 10, y + 66);
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
  const a = Object.assign(document.createElement('a'), { href: url, download: `qumri-report-${input.fileName.replace(/\.nii(\.gz)?$/i, '')}.png` });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
