import { describe, expect, it } from 'vitest';
import { badCorpus } from './bad-corpus.ts';
import { parseNifti } from '../src/core/load/nifti.ts';
import { ScanError } from '../src/core/load/scan-error.ts';

describe('bad-input corpus', () => {
  const files = badCorpus();
  it('covers every bad-input case the issue lists', () => {
    const codes = new Set(files.map((f) => f.code));
    for (const c of [
      'not-nifti',
      'gzip-truncated',
      'gzip-corrupt',
      'wrong-magic',
      'dims-2d',
      'dims-multivolume',
      'dims-invalid',
      'non-finite',
      'size-mismatch',
      'voxel-size',
      'too-large',
    ] as const) {
      expect(codes.has(c), c).toBe(true);
    }
    expect(new Set(files.map((f) => f.name)).size).toBe(files.length);
  });
  for (const f of files) {
    it(`${f.name} → ${f.code}`, () => {
      let err: unknown;
      try {
        parseNifti(f.bytes, f.name);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ScanError);
      expect((err as ScanError).code).toBe(f.code);
      expect((err as ScanError).message.toLowerCase()).toContain(f.expect.toLowerCase());
      expect((err as ScanError).message).toContain(f.name);
    });
  }
});
