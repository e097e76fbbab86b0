// Test-only code (reference simulators, phantoms, helpers) lives in `testing/` folders; the product
// (src/, workers/, bin/) must not import it, or it would ship in the page and the CLI.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PRODUCT = ['src', 'workers', 'bin'];
const IMPORT = /(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g;

function productFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'testing' ? [] : productFiles(p);
    return /\.(ts|tsx|mjs)$/.test(e.name) && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('testing/ boundary', () => {
  const files = PRODUCT.flatMap((d) => productFiles(join(ROOT, d)));

  it('finds the product sources', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it('no product module imports from a testing/ folder', () => {
    const offenders = files.flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(IMPORT)]
        .map((m) => m[1])
        .filter((spec) => /(^|\/)testing(\/|\.ts$)/.test(spec))
        .map((spec) => `${relative(ROOT, f)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });
});
