// The product's import graph (src/, workers/, bin/; tests and testing/ folders left out), as issue 21
// laid it out: test-only code in `testing/` folders is never imported by the product (it would ship
// in the page and the CLI), nothing in src/ imports the workers (they are the top floor, wrapping
// src/core), and no module reaches itself again through its imports.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
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

const specifiers = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => m[1]);

/** A relative specifier resolved to a file, as Vite and tsx resolve it (explicit extension or index.ts). */
function resolveLocal(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(from), spec);
  return [base, `${base}.ts`, join(base, 'index.ts')].find((p) => existsSync(p) && !p.endsWith('/')) ?? null;
}

/** Every cycle found by a depth-first walk, each as a path of repository-relative names. */
function cycles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const found: string[] = [];
  const visit = (u: string, path: string[]): void => {
    state.set(u, 'open');
    for (const v of graph.get(u) ?? []) {
      if (state.get(v) === 'open')
        found.push([...path.slice(path.indexOf(v)), v].map((p) => relative(ROOT, p)).join(' → '));
      else if (!state.has(v)) visit(v, [...path, v]);
    }
    state.set(u, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f, [f]);
  return found;
}

describe('import graph', () => {
  const files = PRODUCT.flatMap((d) => productFiles(join(ROOT, d)));
  const graph = new Map(
    files.map((f) => [
      f,
      specifiers(f)
        .map((s) => resolveLocal(f, s))
        .filter((p): p is string => p !== null && files.includes(p)),
    ]),
  );

  it('finds the product sources and their imports', () => {
    expect(files.length).toBeGreaterThan(50);
    expect([...graph.values()].flat().length).toBeGreaterThan(100);
  });

  it('no product module imports from a testing/ folder', () => {
    const offenders = files.flatMap((f) =>
      specifiers(f)
        .filter((spec) => /(^|\/)testing(\/|\.ts$)/.test(spec))
        .map((spec) => `${relative(ROOT, f)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it('nothing in src/ imports from workers/', () => {
    const offenders = [...graph].flatMap(([f, deps]) =>
      relative(ROOT, f).startsWith('src/')
        ? deps
            .filter((d) => relative(ROOT, d).startsWith('workers/'))
            .map((d) => `${relative(ROOT, f)} → ${relative(ROOT, d)}`)
        : [],
    );
    expect(offenders).toEqual([]);
  });

  it('has no circle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('the cycle finder sees a circle', () => {
    expect(
      cycles(
        new Map([
          [join(ROOT, 'a'), [join(ROOT, 'b')]],
          [join(ROOT, 'b'), [join(ROOT, 'a')]],
        ]),
      ),
    ).toEqual(['a → b → a']);
  });
});
