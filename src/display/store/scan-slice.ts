/** The `scan` slice: the current scan (with its Volume), loading state, errors, DICOM series choice. */
import type { StateCreator } from 'zustand';
import { scanSequence } from '../../core/guard/sequence-acquisition.ts';
import type { ContentSequence } from '../../core/guard/sequence-content.ts';
import type { LoadedScan } from '../../core/load/nifti.ts';
import type { Sequence } from '../../core/load/sequence.ts';
import type { ScanErrorCode } from '../../core/load/scan-error.ts';
import type { DicomSeriesSummary } from '../../core/protocol.ts';
import type { Volume } from '../../core/volume.ts';

export interface ScanErrorView {
  code: ScanErrorCode | 'internal';
  message: string;
  /** The failed input was 4D/5D and can be loaded again keeping its first volume. */
  canTakeFirstVolume: boolean;
}

export interface ScanSlice {
  scan: LoadedScan | null;
  /** The file is one of the bundled demo phantoms (core/guard isDemoScan): models failing their real-scan checks still answer on it. */
  scanIsDemo: boolean;
  /** Increments whenever `scan` is replaced, so effects can key on it cheaply. */
  scanVersion: number;
  /** The user's choice; wins over the detected sequence. */
  sequenceOverride: Sequence | null;
  /** What is being loaded ("Converting 120 DICOM files…"), or null when idle. */
  loading: string | null;
  error: ScanErrorView | null;
  seriesChoice: DicomSeriesSummary[] | null;
  setScan: (scan: LoadedScan, isDemo: boolean) => void;
  setLoading: (label: string | null) => void;
  setError: (error: ScanErrorView | null) => void;
  setSequenceOverride: (sequence: Sequence | null) => void;
  setSeriesChoice: (series: DicomSeriesSummary[] | null) => void;
}

export const createScanSlice: StateCreator<ScanSlice, [], [], ScanSlice> = (set) => ({
  scan: null,
  scanIsDemo: false,
  scanVersion: 0,
  sequenceOverride: null,
  loading: null,
  error: null,
  seriesChoice: null,
  // A new scan clears the error and the previous override; a failure never touches `scan`.
  setScan: (scan, scanIsDemo) =>
    set((s) => ({
      scan,
      scanIsDemo,
      scanVersion: s.scanVersion + 1,
      sequenceOverride: null,
      error: null,
      loading: null,
      seriesChoice: null,
    })),
  setLoading: (loading) => set({ loading }),
  setError: (error) => set({ error, loading: null }),
  setSequenceOverride: (sequenceOverride) => set({ sequenceOverride }),
  setSeriesChoice: (seriesChoice) => set({ seriesChoice, loading: null }),
});

/** The current volume, for preprocessing and inference. */
export const selectVolume = (s: ScanSlice): Volume | null => s.scan?.volume ?? null;

/**
 * The sequence classification should use: the user's override, else the one detected (a DICOM
 * series' acquisition times where they name one, else its names: core/guard's scanSequence).
 */
export const selectSequence = (s: ScanSlice): ContentSequence =>
  s.sequenceOverride ?? (s.scan ? scanSequence(s.scan.info.sequence, s.scan.info.acquisition).sequence : 'unknown');
