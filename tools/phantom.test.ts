import { describe, expect, it } from 'vitest';
import { makePhantom, tissueAt } from './phantom.ts';
import { parseNifti } from '../src/core/load/nifti.ts';
import { writeNifti } from '../src/core/load/nifti-write.ts';

describe('phantom', () => {
  it('has anatomy where a brain is', () => {
    expect(tissueAt(0, 0, 200)).toBe('air');
    expect(tissueAt(30, -8, 8)).toBe('wm');
    expect(tissueAt(11, -4, 14)).toBe('csf');
    expect(tissueAt(0, -10, 82)).toBe('scalp');
  });
  it('is deterministic and has FLAIR contrast (WM darker than GM, CSF dark)', () => {
    const a = makePhantom({ dims: [40, 48, 40], spacing: [4, 4, 4], noise: 2, seed: 3 });
    const b = makePhantom({ dims: [40, 48, 40], spacing: [4, 4, 4], noise: 2, seed: 3 });
    expect(a.data).toEqual(b.data);
    const nonzero = a.data.filter((v) => v > 0).length;
    expect(nonzero / a.data.length).toBeGreaterThan(0.3);
  });
  it('survives a uint8 NIfTI round trip', () => {
    const v = makePhantom({ dims: [20, 24, 20], spacing: [8, 8, 8] });
    const back = parseNifti(
      writeNifti(v, { datatype: 'uint8', gzip: true, description: 'phantom FLAIR' }),
      'phantom.nii.gz',
    );
    expect(Array.from(back.volume.data)).toEqual(Array.from(v.data));
    expect(back.info.sequence.sequence).toBe('FLAIR');
  });
});
