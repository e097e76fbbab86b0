/**
 * What crosses between the page and its Web Workers (workers/*.worker.ts): each worker's API and
 * the messages it takes and answers. Declared here, below both sides, so the page imports its
 * types from src/core and each worker checks its functions against them (`satisfies`).
 */
import type { AdaptOptions, AdaptProgress, AdaptResult, LabelledScan } from './adapt/index.ts';
import type { ProbeResult } from './backbone/web.ts';
import type { Manifest, RegistryEntry } from './bundle/index.ts';
import type { AcquisitionTimes, Judgement } from './guard/index.ts';
import type { CircuitView } from './head/circuit-view.ts';
import type { Prediction } from './head/classifier.ts';
import type { QuantumDetails } from './head/kernel-engine.ts';
import type { LoadedScan, ParseOptions } from './load/nifti.ts';
import type { ScanErrorCode, ScanErrorOptions } from './load/scan-error.ts';
import type { PreprocessResult, ProgressEvent } from './preprocess/index.ts';
import type { Plane } from './preprocess/slice2d.ts';
import type { Volume } from './volume.ts';

// Load worker (NIfTI parsing, DICOM conversion: src/core/load).

/** Comlink keeps only name and message of thrown errors, so failures travel as values. */
export type LoadResult =
  | { ok: true; scan: LoadedScan }
  | { ok: false; error: { code: ScanErrorCode | 'internal'; message: string; options: ScanErrorOptions } };

export type LoadFailure = Extract<LoadResult, { ok: false }>;

export interface DicomSeriesSummary {
  id: string;
  fileName: string;
  seriesNumber: number | null;
  seriesDescription: string;
  protocolName: string;
  /** Dimensions read from the converted header, e.g. [256, 256, 176]. */
  dims: number[];
}

/** One series dcm2niix converted: its summary, the NIfTI bytes it wrote and its sidecar's acquisition times. */
export interface ConvertedSeries {
  summary: DicomSeriesSummary;
  bytes: Uint8Array;
  acquisition: AcquisitionTimes;
}

export interface DicomInputFile {
  file: File;
  /** Path inside the dropped folder, so dcm2niix sees distinct names. */
  path: string;
}

export interface LoadWorkerApi {
  loadNifti(bytes: Uint8Array, fileName: string, opts?: ParseOptions): LoadResult;
  /** Converts every series among the files; the converted volumes stay in the worker until `loadSeries` picks one. */
  convertDicom(files: DicomInputFile[]): Promise<{ ok: true; series: DicomSeriesSummary[] } | LoadFailure>;
  loadSeries(id: string, opts?: ParseOptions): LoadResult;
  /** Converts every series among the files and hands them over (the adaptation panel's scans); keeps nothing. */
  convertDicomSeries(files: DicomInputFile[]): Promise<{ ok: true; series: ConvertedSeries[] } | LoadFailure>;
  /** Parses a series `convertDicomSeries` returned, as `loadSeries` parses one kept here. */
  loadConverted(series: ConvertedSeries): LoadResult;
}

// Preprocessing worker (src/core/preprocess).

export interface PreprocessWorkerApi {
  /** Preprocess a volume the page already holds (it sends a copy). */
  preprocessVolume(volume: Volume, spec: unknown, onProgress?: (e: ProgressEvent) => void): PreprocessResult;
  /** Parse NIfTI bytes and preprocess them (the same entry the CLI uses per file). */
  preprocessBytes(
    bytes: Uint8Array,
    fileName: string,
    spec: unknown,
    onProgress?: (e: ProgressEvent) => void,
  ): PreprocessResult;
}

// Inference worker (bundle, backbone, head, explain, guard).

export interface InferenceConfig {
  /** Base URL of the model bundles (holds index.json). */
  modelsUrl: string;
  /** Where ORT's wasm files are served from this origin. */
  ortWasmPaths: string;
  threads: number;
  /** 'auto' = WebGPU when available and the probe agrees, else WASM. */
  backend: 'auto' | 'webgpu' | 'wasm';
  /** Probe results already known for adapters (the page keeps them in localStorage). */
  knownProbes: Record<string, ProbeResult>;
  /** Largest model (sum of file bytes) this device accepts. */
  maxModelBytes: number;
}

export interface LoadedModel {
  manifest: Manifest;
  backend: 'webgpu' | 'wasm';
  fallbackReason?: string;
  /** The probe run for this device, when one ran now (the page stores it by adapter key). */
  probe?: { adapter: string; result: ProbeResult };
  loadMs: number;
}

export interface ClassifyRequest {
  modelId: string;
  volume: Volume;
  /** The volume is already on the model grid (skip preprocessing; Grad-CAM then maps grid → scan 1:1). */
  preprocessed?: boolean;
  explain?: boolean;
  /** The file is one of the bundled demo phantoms (isDemoScan of its sha256): the model-level real-scan check does not apply. */
  demoScan: boolean;
  /** A DICOM series' echo, repetition and inversion times (ScanInfo.acquisition): where they name a sequence, the guard judges by it. */
  acquisition?: AcquisitionTimes;
}

export interface ClassifyResult extends Omit<Prediction, 'explain' | 'features'> {
  modelId: string;
  fallbackReason?: string;
  timings: Prediction['timings'] & { preprocessMs: number };
  /** Grad-CAM on the scan's voxel grid in [0, 1], when asked. */
  gradCam?: Float32Array;
  /** The feature-map grid Grad-CAM was computed on (its resolution, before upsampling to the scan). */
  gradCamCells?: number[];
  /** The sequence read from the acquisition times or the image and whether the answer is withheld, and why (src/core/guard). */
  guard: Judgement;
}

/**
 * What a 2D model classifies: a slice of the scan the worker holds (InferenceApi.holdScan), cut and
 * scaled like the training slices, or a ready 224×224 input in slice2d.ts's layout (a dropped
 * picture, a test's float tensor).
 */
export type SliceSource = { plane: Plane; index: number } | { input: Float32Array };

/** A 2D classification with Grad-CAM, and the input it read (the page draws it). */
export interface SliceRun {
  input: Float32Array;
  result: ClassifyResult;
}

/**
 * Site adaptation (src/core/adapt) of a loaded model, in the inference worker so that the scans go
 * through the model's own preprocessing and backbone (InferenceApi.scanFeatures, classify's path).
 */
export interface AdaptRequest {
  modelId: string;
  /** Each scan's features (scanFeatures) and label, one of the model's classes. */
  scans: LabelledScan[];
  options: Partial<AdaptOptions>;
  /** The adapted bundle's id (the page picks one no listed model has) and its card's date. */
  id: string;
  date: string;
}

export interface AdaptRun {
  result: AdaptResult;
  /** What will still withhold the adapted model's class (adaptationCaveats). */
  caveats: string[];
  manifest: Manifest;
  /** The adapted bundle's files by name (adaptedBundle), for the page to keep or discard. */
  files: Map<string, Uint8Array>;
}

export interface InferenceApi {
  init(c: InferenceConfig): Promise<void>;
  listModels(): Promise<RegistryEntry[]>;
  loadModel(id: string): Promise<LoadedModel>;
  unloadModel(id: string): Promise<void>;
  classify(req: ClassifyRequest): Promise<ClassifyResult>;
  /** Keeps a copy of the scan for classifySlice, replacing the one held: the page sends each scan once, not once per slice. */
  holdScan(volume: Volume): void;
  classifySlice(modelId: string, source: SliceSource): Promise<SliceRun>;
  /**
   * The quantum panel's data for one quantum layer of a model (`layerIndex` counts quantum layers
   * only, in head order, like ClassifyResult.quantum) at the input it received for the last scan.
   */
  quantumDetails(
    modelId: string,
    input: Float64Array,
    shots: { count: number; seed: number } | null,
    layerIndex?: number,
  ): Promise<QuantumDetails & { view: CircuitView }>;
  /** A scan's pooled backbone features after the model's preprocessing, exactly as classify computes them. */
  scanFeatures(modelId: string, volume: Volume): Promise<Float32Array>;
  /** Fine-tunes the model's head on the scans (adaptHead) and builds the adapted bundle; nothing is stored. */
  adapt(req: AdaptRequest, onProgress?: (p: AdaptProgress) => void): Promise<AdaptRun>;
  /** Test hook: the next `adapt` waits where fine-tuning starts until the worker is stopped; resolves once it waits. */
  holdNextAdaptation(): Promise<void>;
  /** Benchmark hook: `runs` timed backbone runs of a loaded model on one fixed input. */
  benchBackbone(modelId: string, runs: number): Promise<{ backend: string; ms: number[] }>;
  /** Test hooks for the device-loss e2e tests (src/core/backbone/web.ts). */
  loseDevice(): Promise<boolean>;
  armDeviceLoss(): Promise<boolean>;
  deviceLossReport(): { fired: boolean; duringRun: boolean } | null;
}
