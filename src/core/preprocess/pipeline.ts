/**
 * The preprocessing pipeline: reorient → brain mask → resample onto the model grid → normalise.
 * One implementation for the page's worker, the node CLI and training data preparation.
 */
import type { Volume } from '../volume.ts';
import { diagonalAffine } from './affine.ts';
import { BRAIN_PARAMS, extractBrain, headMask, isSkullStripped, type WorkingVolume } from './brain.ts';
import { gridMaps, maskBox } from './grid.ts';
import { fillHoles, largestComponent } from './morphology.ts';
import { normalizeInMask } from './normalize.ts';
import { reorientToRas } from './reorient.ts';
import { coverAxis, resampleSeparable, type AxisMap } from './resample.ts';
import type { PreprocessSpec } from './spec.ts';
import { validateVolume } from './validate.ts';

export type StepName = 'reorient' | 'brain' | 'resample' | 'normalize';
export const STEPS: readonly StepName[] = ['reorient', 'brain', 'resample', 'normalize'];

export interface ProgressEvent {
  step: StepName;
  fraction: number;
}

export interface PreprocessResult {
  data: Float32Array;
  grid: [number, number, number];
  /** Grid voxel → scan world RAS mm, row-major 4×4. */
  affine: number[];
  /** Brain mask on the grid. */
  mask: Uint8Array;
  /** The input was detected as already skull-stripped (brain extraction skipped). */
  skullStripped: boolean;
  /** What produced the mask: a brain extraction, the foreground of a stripped scan, or the head (extraction off). */
  maskSource: 'extracted' | 'stripped-input' | 'head';
  /** Raw intensities mapped to 0 and 1. */
  intensityRange: [number, number];
  /** The grid's intensities before normalisation: the guards read them under their own rule, not the model's. */
  resampled: Float32Array;
  steps: { name: StepName; ms: number }[];
}

/** Voxels above the background of a stripped scan, decided at full resolution then resampled. */
function foregroundMask(ras: Volume, maps: readonly AxisMap[], w: WorkingVolume, min: number): Uint8Array {
  const full = new Float32Array(ras.data.length);
  for (let i = 0; i < full.length; i++) full[i] = ras.data[i] > min ? 1 : 0;
  const soft = resampleSeparable(full, ras.dims, maps, 0);
  const fg = new Uint8Array(soft.length);
  for (let i = 0; i < fg.length; i++) fg[i] = soft[i] >= 0.5 ? 1 : 0;
  return fillHoles(largestComponent(fg, w.dims), w.dims);
}

/** Smallest mask (ml) accepted as a brain or head. */
const MIN_MASK_ML = 150;

function brainStep(ras: Volume, min: number, backgroundFraction: number, mode: PreprocessSpec['brain_extraction']) {
  const maps = [0, 1, 2].map((a) => coverAxis(ras.dims[a], ras.spacing[a], BRAIN_PARAMS.workingMm));
  const w: WorkingVolume = {
    data: resampleSeparable(ras.data, ras.dims, maps, min),
    dims: maps.map((m) => m.n) as [number, number, number],
    spacing: maps.map((m, a) => m.step * ras.spacing[a]) as [number, number, number],
  };
  const stripped = isSkullStripped(w, min, backgroundFraction);
  let mask: Uint8Array;
  let source: PreprocessResult['maskSource'];
  if (mode === 'off') {
    mask = headMask(w);
    source = 'head';
  } else if (mode === 'auto' && stripped) {
    mask = foregroundMask(ras, maps, w, min);
    source = 'stripped-input';
  } else {
    mask = extractBrain(w);
    source = 'extracted';
  }
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  const ml = (n * w.spacing[0] * w.spacing[1] * w.spacing[2]) / 1000;
  if (ml < MIN_MASK_ML)
    throw new Error(`no head found: the ${source} mask holds ${ml.toFixed(0)} ml (need ≥ ${MIN_MASK_ML} ml)`);
  return { w, maps, mask, stripped, source };
}

/** Prepare one scan for a model: see src/core/preprocess/README.md for the exact rules. */
export function preprocess(
  volume: Volume,
  spec: PreprocessSpec,
  onProgress?: (e: ProgressEvent) => void,
): PreprocessResult {
  const steps: { name: StepName; ms: number }[] = [];
  const run = <T>(name: StepName, f: () => T): T => {
    onProgress?.({ step: name, fraction: 0 });
    const t0 = performance.now();
    const out = f();
    steps.push({ name, ms: performance.now() - t0 });
    onProgress?.({ step: name, fraction: 1 });
    return out;
  };
  const { min } = validateVolume(volume);
  let atMin = 0;
  for (let i = 0; i < volume.data.length; i++) if (volume.data[i] === min) atMin++;
  const backgroundFraction = atMin / volume.data.length;

  const ras = run('reorient', () => reorientToRas(volume, min));
  const brain = run('brain', () => brainStep(ras, min, backgroundFraction, spec.brain_extraction));
  const { data, mask, maps } = run('resample', () => {
    const box = maskBox(brain.mask, brain.w.dims, brain.maps);
    const g = gridMaps(box, spec, ras.spacing);
    const resampled = resampleSeparable(ras.data, ras.dims, g, min);
    const toWorking: AxisMap[] = g.map((m, a) => ({
      n: m.n,
      start: (m.start - brain.maps[a].start) / brain.maps[a].step,
      step: m.step / brain.maps[a].step,
    }));
    const soft = resampleSeparable(Float32Array.from(brain.mask), brain.w.dims, toWorking, 0);
    const gridMask = new Uint8Array(soft.length);
    for (let i = 0; i < soft.length; i++) gridMask[i] = soft[i] >= 0.5 ? 1 : 0;
    return { data: resampled, mask: gridMask, maps: g };
  });
  const norm = run('normalize', () => normalizeInMask(data, mask, spec.normalize));

  const o = [ras.affine[3], ras.affine[7], ras.affine[11]];
  const affine = diagonalAffine(
    maps.map((m, a) => m.step * ras.spacing[a]),
    maps.map((m, a) => o[a] + m.start * ras.spacing[a]),
  );
  return {
    data: norm.data,
    grid: [...spec.grid] as [number, number, number],
    affine,
    mask,
    skullStripped: brain.stripped && spec.brain_extraction === 'auto',
    maskSource: brain.source,
    intensityRange: norm.range,
    resampled: data,
    steps,
  };
}
