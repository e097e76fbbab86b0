/**
 * The `adapt` slice: the *Adapt to this site* panel's scans and labels, the run's progress, and its
 * outcome until the user keeps or discards the adapted model. adapt-controller.ts writes it.
 */
import type { StateCreator } from 'zustand';
import type { AdaptProgress } from '../../core/adapt/index.ts';
import type { AdaptRun } from '../../core/protocol.ts';

export interface AdaptScan {
  /** Unique in the list (a file picked twice is two rows until its bytes are compared). */
  key: string;
  file: File;
  /** One of the source model's classes, or null until the user picks one. */
  label: string | null;
  state: 'waiting' | 'reading' | 'features' | 'done' | 'failed';
  /** The sequence the header names (src/core/load), once read. */
  sequence?: string;
}

export type AdaptPhase = 'idle' | 'running' | 'done' | 'failed' | 'cancelled';

export interface AdaptOutcome {
  /** The model adapted. */
  sourceId: string;
  run: AdaptRun;
  /** Kept in this browser (IndexedDB). */
  saved: boolean;
}

export interface AdaptSlice {
  adaptScans: AdaptScan[];
  adaptPhase: AdaptPhase;
  /** Why the run failed, when it did. */
  adaptError: string | null;
  /** The scan being read (1-based) during feature extraction, then the fine-tuning's fold and epoch. */
  adaptScanStep: { index: number; total: number } | null;
  adaptProgress: AdaptProgress | null;
  adaptOutcome: AdaptOutcome | null;
  addAdaptScans: (files: File[]) => void;
  setAdaptLabel: (key: string, label: string | null) => void;
  removeAdaptScan: (key: string) => void;
  setAdaptScanState: (key: string, state: AdaptScan['state'], sequence?: string) => void;
  setAdaptPhase: (phase: AdaptPhase, error?: string | null) => void;
  setAdaptScanStep: (step: AdaptSlice['adaptScanStep']) => void;
  setAdaptProgress: (p: AdaptProgress | null) => void;
  setAdaptOutcome: (o: AdaptOutcome | null) => void;
}

let nextKey = 0;

export const createAdaptSlice: StateCreator<AdaptSlice, [], [], AdaptSlice> = (set) => ({
  adaptScans: [],
  adaptPhase: 'idle',
  adaptError: null,
  adaptScanStep: null,
  adaptProgress: null,
  adaptOutcome: null,
  addAdaptScans: (files) =>
    set((s) => ({
      adaptScans: [
        ...s.adaptScans,
        ...files.map((file): AdaptScan => ({ key: `s${nextKey++}`, file, label: null, state: 'waiting' })),
      ],
    })),
  setAdaptLabel: (key, label) =>
    set((s) => ({ adaptScans: s.adaptScans.map((x) => (x.key === key ? { ...x, label } : x)) })),
  removeAdaptScan: (key) => set((s) => ({ adaptScans: s.adaptScans.filter((x) => x.key !== key) })),
  setAdaptScanState: (key, state, sequence) =>
    set((s) => ({
      adaptScans: s.adaptScans.map((x) => (x.key === key ? { ...x, state, ...(sequence ? { sequence } : {}) } : x)),
    })),
  setAdaptPhase: (adaptPhase, adaptError = null) => set({ adaptPhase, adaptError }),
  setAdaptScanStep: (adaptScanStep) => set({ adaptScanStep }),
  setAdaptProgress: (adaptProgress) => set({ adaptProgress }),
  setAdaptOutcome: (adaptOutcome) => set({ adaptOutcome }),
});
