/**
 * The `adapt` slice: the *Adapt to this site* panel's scans and labels, the run's progress, and its
 * outcome until the user keeps or discards the adapted model. adapt-controller.ts writes it.
 */
import type { StateCreator } from 'zustand';
import type { AdaptProgress } from '../../core/adapt/index.ts';
import type { AdaptRun, ConvertedSeries } from '../../core/protocol.ts';

/** A row's scan: a NIfTI file, or one series of DICOM files the load worker converted. */
export type AdaptSource = { kind: 'nifti'; file: File } | { kind: 'dicom'; series: ConvertedSeries };

export interface AdaptScan {
  /** Unique in the list (a file picked twice is two rows until its bytes are compared). */
  key: string;
  /** The file's name, or the series' number and description. */
  name: string;
  /** null while its DICOM files convert, and when they gave no scan (`error` says why). */
  source: AdaptSource | null;
  /** One of the source model's classes, or null until the user picks one. */
  label: string | null;
  state: 'converting' | 'waiting' | 'reading' | 'features' | 'done' | 'failed';
  /** Why this scan could not be read or converted. */
  error?: string;
  /** The sequence the header names (src/core/load), once read. */
  sequence?: string;
}

/** A row as added: no label yet, waiting unless it says otherwise. */
export type NewAdaptScan = Pick<AdaptScan, 'name' | 'source'> & Partial<Pick<AdaptScan, 'state' | 'error'>>;

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
  /** Appends rows; their keys. */
  addAdaptScans: (rows: NewAdaptScan[]) => string[];
  /** Puts `rows` where the row `key` is (a DICOM drop's series in place of its "converting" row); nothing when it was removed. */
  replaceAdaptScan: (key: string, rows: NewAdaptScan[]) => void;
  setAdaptLabel: (key: string, label: string | null) => void;
  removeAdaptScan: (key: string) => void;
  /** A new state drops the row's error unless one is given. */
  setAdaptScanState: (key: string, state: AdaptScan['state'], more?: { sequence?: string; error?: string }) => void;
  setAdaptPhase: (phase: AdaptPhase, error?: string | null) => void;
  setAdaptScanStep: (step: AdaptSlice['adaptScanStep']) => void;
  setAdaptProgress: (p: AdaptProgress | null) => void;
  setAdaptOutcome: (o: AdaptOutcome | null) => void;
}

let nextKey = 0;

const row = ({ state = 'waiting', ...rest }: NewAdaptScan): AdaptScan => ({
  key: `s${nextKey++}`,
  label: null,
  state,
  ...rest,
});

export const createAdaptSlice: StateCreator<AdaptSlice, [], [], AdaptSlice> = (set) => ({
  adaptScans: [],
  adaptPhase: 'idle',
  adaptError: null,
  adaptScanStep: null,
  adaptProgress: null,
  adaptOutcome: null,
  addAdaptScans: (rows) => {
    const added = rows.map(row);
    set((s) => ({ adaptScans: [...s.adaptScans, ...added] }));
    return added.map((r) => r.key);
  },
  replaceAdaptScan: (key, rows) =>
    set((s) => ({ adaptScans: s.adaptScans.flatMap((x) => (x.key === key ? rows.map(row) : [x])) })),
  setAdaptLabel: (key, label) =>
    set((s) => ({ adaptScans: s.adaptScans.map((x) => (x.key === key ? { ...x, label } : x)) })),
  removeAdaptScan: (key) => set((s) => ({ adaptScans: s.adaptScans.filter((x) => x.key !== key) })),
  setAdaptScanState: (key, state, { sequence, error } = {}) =>
    set((s) => ({
      adaptScans: s.adaptScans.map((x) =>
        x.key === key ? { ...x, state, error, ...(sequence ? { sequence } : {}) } : x,
      ),
    })),
  setAdaptPhase: (adaptPhase, adaptError = null) => set({ adaptPhase, adaptError }),
  setAdaptScanStep: (adaptScanStep) => set({ adaptScanStep }),
  setAdaptProgress: (adaptProgress) => set({ adaptProgress }),
  setAdaptOutcome: (adaptOutcome) => set({ adaptOutcome }),
});
