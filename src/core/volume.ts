/**
 * The one in-memory volume type every stage shares (loaders produce it, preprocessing
 * consumes and produces it, the CLI and the workers pass it around).
 */

/** NIfTI datatype names QuMRI reads; the loader maps NIfTI codes to these. */
export type VoxelType = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64' | 'rgb24';

export interface Volume {
  /** Voxels along i, j, k (NIfTI dim[1..3]). */
  dims: [number, number, number];
  /** Voxel size in mm (NIfTI pixdim[1..3], positive). */
  spacing: [number, number, number];
  /** 4×4 row-major matrix mapping voxel indices (i, j, k, 1) to RAS+ millimetres (sform, else qform). */
  affine: number[];
  /** Datatype the file stored, before scaling. */
  datatype: VoxelType;
  /** Intensities after scl_slope/scl_inter, index i + nx·(j + ny·k). */
  data: Float32Array;
}
