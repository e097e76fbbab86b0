/** Writes the bundled demo scan, public/demo/phantom.nii.gz: a FLAIR-like phantom at 1.5 mm. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePhantom } from './phantom.ts';
import { writeNifti } from '../src/core/load/nifti-write.ts';

const out = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'demo', 'phantom.nii.gz');
const vol = makePhantom({ dims: [112, 136, 112], spacing: [1.5, 1.5, 1.5], contrast: 'FLAIR', noise: 3, seed: 7 });
const bytes = writeNifti(vol, { datatype: 'uint8', gzip: true, description: 'QuMRI demo phantom, FLAIR' });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, bytes);
console.log(`wrote ${out} (${(bytes.length / 1024).toFixed(0)} KiB)`);
