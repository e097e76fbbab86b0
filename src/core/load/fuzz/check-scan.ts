/** What a scan the loader accepted must satisfy; an accepted scan that breaks one of these is a bug too. */
import type { LoadedScan } from '../nifti.ts';
import { isUsableAffine } from '../affine.ts';
import { MAX_VOXELS, MAX_VOXEL_MM, MIN_VOXEL_MM } from '../limits.ts';

const VOXEL_TYPES = new Set(['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64', 'rgb24']);

/** Problems found in `scan`; empty when it is a valid volume. */
export function scanProblems(scan: LoadedScan): string[] {
  const p: string[] = [];
  const { volume: v, info } = scan;
  if (v.dims.length !== 3 || !v.dims.every((d) => Number.isSafeInteger(d) && d >= 1))
    p.push(`dims ${JSON.stringify(v.dims)}`);
  if (v.dims.filter((d) => d > 1).length < 3) p.push(`not 3D: ${v.dims.join('×')}`);
  const n = v.dims[0] * v.dims[1] * v.dims[2];
  if (n > MAX_VOXELS) p.push(`${n} voxels is over the limit`);
  if (!(v.data instanceof Float32Array) || v.data.length !== n)
    p.push(`${v.data.length} values for ${v.dims.join('×')}`);
  if (!v.spacing.every((s) => Number.isFinite(s) && s >= MIN_VOXEL_MM && s <= MAX_VOXEL_MM))
    p.push(`spacing ${JSON.stringify(v.spacing)}`);
  if (!isUsableAffine(v.affine) || v.affine.slice(12).join() !== '0,0,0,1')
    p.push(`affine ${JSON.stringify(v.affine)}`);
  if (!VOXEL_TYPES.has(v.datatype) || info.datatype !== v.datatype) p.push(`datatype ${v.datatype}/${info.datatype}`);
  let min = Infinity;
  let max = -Infinity;
  for (const x of v.data) {
    if (!Number.isFinite(x)) {
      p.push(`non-finite voxel ${x}`);
      break;
    }
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (info.intensityRange[0] !== min || info.intensityRange[1] !== max)
    p.push(`intensity range ${info.intensityRange} but data spans ${min}..${max}`);
  if (
    !/^[LR][PA][IS]$|^[LR][IS][PA]$|^[PA][LR][IS]$|^[PA][IS][LR]$|^[IS][LR][PA]$|^[IS][PA][LR]$/.test(info.orientation)
  )
    p.push(`orientation ${info.orientation}`);
  if (info.format !== 'NIfTI-1' && info.format !== 'NIfTI-2') p.push(`format ${info.format}`);
  if (!info.fileDims.slice(0, 3).every((d, i) => d === v.dims[i]))
    p.push(`fileDims ${info.fileDims} vs dims ${v.dims}`);
  return p;
}
