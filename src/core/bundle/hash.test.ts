import { afterEach, describe, expect, it, vi } from 'vitest';
import { sha256Hex } from './hash.ts';

describe('sha256Hex without crypto.subtle', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('names the missing secure context (a page on plain http from another host)', async () => {
    vi.stubGlobal('crypto', {});
    await expect(sha256Hex(new Uint8Array(3))).rejects.toThrow(
      /crypto\.subtle is unavailable.*secure contexts.*https or from localhost/,
    );
  });
});
