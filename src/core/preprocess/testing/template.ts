/** Loads the Colin27 template pair (Debian mricron-data) used by the brain-extraction evaluation. */
import { readFileSync, existsSync } from 'node:fs';
import { parseNifti } from '../../load/nifti.ts';
import type { Volume } from '../../volume.ts';

export const TEMPLATE_DIR = '/usr/share/mricron/templates';

export function templateAvailable(dir = TEMPLATE_DIR): boolean {
  return existsSync(`${dir}/ch2.nii.gz`) && existsSync(`${dir}/ch2bet.nii.gz`);
}

/** T1 head (ch2) and its brain mask (ch2bet > 0). */
export function loadTemplate(dir = TEMPLATE_DIR): { t1: Volume; brain: Volume } {
  const read = (f: string) => parseNifti(new Uint8Array(readFileSync(`${dir}/${f}`)), f).volume;
  const t1 = read('ch2.nii.gz');
  const bet = read('ch2bet.nii.gz');
  const mask = new Float32Array(bet.data.length);
  for (let i = 0; i < mask.length; i++) mask[i] = bet.data[i] > 0 ? 1 : 0;
  return { t1, brain: { ...bet, data: mask } };
}
