import { describe, expect, it } from 'vitest';
import { rewriteCsv } from './preprocess.ts';

const out = [{ outPath: '/o/a.nii.gz', maskPath: '/o/a_mask.nii.gz', skullStripped: true }];

describe('rewriteCsv', () => {
  it('appends mask_path and skull_stripped to a list without them', () => {
    expect(rewriteCsv([['id', 'path'], ['s1', 'a.nii.gz']], 1, out)).toEqual([
      ['id', 'path', 'mask_path', 'skull_stripped'],
      ['s1', '/o/a.nii.gz', '/o/a_mask.nii.gz', 'true'],
    ]);
  });

  it('replaces the columns a synth manifest already has instead of writing them twice', () => {
    const rows = [['path', 'skull_stripped', 'label'], ['a.nii.gz', 'false', '1']];
    expect(rewriteCsv(rows, 0, out)).toEqual([
      ['path', 'skull_stripped', 'label', 'mask_path'],
      ['/o/a.nii.gz', 'true', '1', '/o/a_mask.nii.gz'],
    ]);
    expect(rows[1]).toEqual(['a.nii.gz', 'false', '1']);
  });
});
