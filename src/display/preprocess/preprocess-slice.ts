/** The `preprocess` slice: per-step progress of the page's preprocessing run, its result summary and mask. */
import type { StateCreator } from 'zustand';
import { STEPS, type PreprocessResult, type ProgressEvent, type StepName } from '../../core/preprocess/index.ts';

export interface StepView {
  name: StepName;
  fraction: number;
  ms: number | null;
}

export interface PreprocessView {
  status: 'idle' | 'running' | 'done' | 'error';
  steps: StepView[];
  error: string | null;
  /** The scan version the run belongs to (a new scan makes it stale). */
  scanVersion: number;
  result: Pick<PreprocessResult, 'grid' | 'affine' | 'mask' | 'skullStripped' | 'maskSource' | 'intensityRange'> | null;
  showMask: boolean;
}

export interface PreprocessSlice {
  preprocessing: PreprocessView;
  startPreprocess: (scanVersion: number) => void;
  preprocessProgress: (e: ProgressEvent) => void;
  preprocessDone: (r: PreprocessResult) => void;
  preprocessFailed: (message: string) => void;
  setShowMask: (show: boolean) => void;
}

const idleSteps = (): StepView[] => STEPS.map((name) => ({ name, fraction: 0, ms: null }));

export const createPreprocessSlice: StateCreator<PreprocessSlice, [], [], PreprocessSlice> = (set) => ({
  preprocessing: { status: 'idle', steps: idleSteps(), error: null, scanVersion: -1, result: null, showMask: true },
  startPreprocess: (scanVersion) =>
    set((s) => ({
      preprocessing: {
        ...s.preprocessing,
        status: 'running',
        steps: idleSteps(),
        error: null,
        scanVersion,
        result: null,
      },
    })),
  preprocessProgress: (e) =>
    set((s) => ({
      preprocessing: {
        ...s.preprocessing,
        steps: s.preprocessing.steps.map((st) => (st.name === e.step ? { ...st, fraction: e.fraction } : st)),
      },
    })),
  preprocessDone: (r) =>
    set((s) => ({
      preprocessing: {
        ...s.preprocessing,
        status: 'done',
        steps: s.preprocessing.steps.map((st) => ({
          ...st,
          fraction: 1,
          ms: r.steps.find((x) => x.name === st.name)?.ms ?? null,
        })),
        result: {
          grid: r.grid,
          affine: r.affine,
          mask: r.mask,
          skullStripped: r.skullStripped,
          maskSource: r.maskSource,
          intensityRange: r.intensityRange,
        },
      },
    })),
  preprocessFailed: (message) =>
    set((s) => ({ preprocessing: { ...s.preprocessing, status: 'error', error: message } })),
  setShowMask: (showMask) => set((s) => ({ preprocessing: { ...s.preprocessing, showMask } })),
});
