/**
 * The `inference` slice: the model registry and the withdrawn bundles, the chosen model(s), the sequence-mismatch
 * confirmation, run status, results per model for the current scan, the Grad-CAM overlay settings
 * and the quantum panel's exact/shots choice. The controller (controller.ts) writes it.
 */
import type { StateCreator } from 'zustand';
import type { Manifest, RegistryEntry } from '../../core/bundle/index.ts';
import type { Withdrawn } from '../../core/bundle/withdrawn.ts';
import type { ClassifyResult, LoadedModel } from '../../core/protocol.ts';

export type BackendChoice = 'auto' | 'webgpu' | 'wasm';

export interface ModelRun {
  modelId: string;
  manifest: Manifest;
  model: LoadedModel;
  result: ClassifyResult;
  /** Scan the result belongs to (scanVersion), so a new scan never shows a stale answer. */
  scanVersion: number;
}

export interface InferenceSlice {
  registry: RegistryEntry[] | null;
  registryError: string | null;
  /** Bundles the shipping rule took out (models/withdrawn.json), or null when the server has none. */
  withdrawn: Withdrawn | null;
  modelId: string | null;
  /** Second model for side-by-side comparison (classical vs quantum), or null. */
  compareId: string | null;
  backendChoice: BackendChoice;
  /** The user accepted running a model on a scan of another sequence (reset with each scan). */
  mismatchConfirmed: boolean;
  /** What is running ("Verifying model files…"), or null. */
  inferenceStatus: string | null;
  inferenceError: string | null;
  runs: ModelRun[];
  /** How long the current scan took from the start of its loading to its display, when seen. */
  scanLoadMs: number | null;
  overlay: { visible: boolean; opacity: number; threshold: number };
  shots: { mode: 'exact' | 'shots'; count: number; seed: number };
  setRegistry: (registry: RegistryEntry[] | null, error?: string | null) => void;
  setWithdrawn: (withdrawn: Withdrawn | null) => void;
  setModelId: (id: string | null) => void;
  setCompareId: (id: string | null) => void;
  setBackendChoice: (b: BackendChoice) => void;
  confirmMismatch: (yes: boolean) => void;
  setInferenceStatus: (s: string | null) => void;
  setInferenceError: (e: string | null) => void;
  setRuns: (runs: ModelRun[]) => void;
  setScanLoadMs: (ms: number | null) => void;
  setOverlay: (o: Partial<InferenceSlice['overlay']>) => void;
  setShots: (s: Partial<InferenceSlice['shots']>) => void;
}

export const createInferenceSlice: StateCreator<InferenceSlice, [], [], InferenceSlice> = (set) => ({
  registry: null,
  registryError: null,
  withdrawn: null,
  modelId: null,
  compareId: null,
  backendChoice: 'auto',
  mismatchConfirmed: false,
  inferenceStatus: null,
  inferenceError: null,
  runs: [],
  scanLoadMs: null,
  overlay: { visible: true, opacity: 0.5, threshold: 0.3 },
  shots: { mode: 'exact', count: 1024, seed: 1 },
  setRegistry: (registry, error = null) => set({ registry, registryError: error }),
  setWithdrawn: (withdrawn) => set({ withdrawn }),
  setModelId: (modelId) => set({ modelId, mismatchConfirmed: false, runs: [], inferenceError: null }),
  setCompareId: (compareId) => set({ compareId, runs: [], inferenceError: null }),
  setBackendChoice: (backendChoice) => set({ backendChoice }),
  confirmMismatch: (mismatchConfirmed) => set({ mismatchConfirmed }),
  setInferenceStatus: (inferenceStatus) => set({ inferenceStatus }),
  setInferenceError: (inferenceError) => set({ inferenceError, inferenceStatus: null }),
  setRuns: (runs) => set({ runs, inferenceStatus: null, inferenceError: null }),
  setScanLoadMs: (scanLoadMs) => set({ scanLoadMs }),
  setOverlay: (o) => set((s) => ({ overlay: { ...s.overlay, ...o } })),
  setShots: (o) => set((s) => ({ shots: { ...s.shots, ...o } })),
});

/** The model's sequence differs from the scan's, or the scan's is unknown: the user must confirm. */
export function sequenceMismatch(manifest: Manifest | undefined, scanSequence: string): boolean {
  return !!manifest && manifest.sequence !== scanSequence;
}
