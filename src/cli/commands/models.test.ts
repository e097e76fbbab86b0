import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = path.join(ROOT, 'bin/qumri.mjs');

function modelsRoot(index: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'qumri-models-'));
  for (const id of ['tiny-q', 'tiny-c'])
    cpSync(path.join(ROOT, 'fixtures/bundles', id), path.join(dir, id), { recursive: true });
  mkdirSync(path.join(dir, 'broken'));
  writeFileSync(path.join(dir, 'broken', 'manifest.json'), '{');
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ models: index }));
  return dir;
}

describe('qumri models', () => {
  it('lists the bundles in index.json with task, sequence, head and data provenance', () => {
    const r = spawnSync('node', [BIN, 'models', '--root', modelsRoot(['tiny-q', 'tiny-c'])], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^tiny-q\ttsc\tFLAIR\t3D\tquantum\tAUC n\/a\t0\.0 MiB\tsynthetic data$/);
  });

  it('then lists the bundles withdrawn.json says the shipping rule took out, with their AUC', () => {
    const root = modelsRoot(['tiny-q']);
    cpSync(path.join(ROOT, 'public/models/withdrawn.json'), path.join(root, 'withdrawn.json'));
    const r = spawnSync('node', [BIN, 'models', '--root', root], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const [shipped, withdrawn] = r.stdout.trim().split('\n\n');
    expect(shipped).toMatch(/^tiny-q\t[^\n]*$/);
    expect(withdrawn).toMatch(/^withdrawn, failing the shipping rule \(test AUC 95 % interval above 0\.70\):\n/);
    expect(withdrawn).toContain('ms-flair-axial-qcnn\tms\tFLAIR\t2D axial\tquantum\tAUC 0.320 [0.118, 0.556]');
  });

  it('prints JSON and flags a broken bundle with exit code 1', () => {
    const r = spawnSync('node', [BIN, 'models', '--json', '--root', modelsRoot(['tiny-c', 'broken'])], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    const rows = JSON.parse(r.stdout) as { id: string; error?: string; sequence?: string }[];
    expect(rows[0]).toMatchObject({ id: 'tiny-c', sequence: 'FLAIR' });
    expect(rows[1].error).toMatch(/not valid JSON/);
  });

  it('says so when no model is shipped', () => {
    const r = spawnSync('node', [BIN, 'models', '--root', mkdtempSync(path.join(tmpdir(), 'qumri-empty-'))], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/no models shipped/);
  });
});
