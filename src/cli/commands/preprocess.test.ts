import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COLUMNS, REPORT, rewriteCsv, usage } from './preprocess.ts';
import { parseCsv } from '../batch.ts';
import { writeNifti } from '../../core/load/nifti-write.ts';
import { phantomHead } from '../../core/preprocess/testing/phantom-head.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = path.join(ROOT, 'bin/qumri.mjs');

const out = [{ outPath: '/o/a.nii.gz', maskPath: '/o/a_mask.nii.gz', skullStripped: true }];

describe('rewriteCsv', () => {
  it('appends mask_path and skull_stripped to a list without them', () => {
    expect(
      rewriteCsv(
        [
          ['id', 'path'],
          ['s1', 'a.nii.gz'],
        ],
        1,
        out,
      ),
    ).toEqual([
      ['id', 'path', 'mask_path', 'skull_stripped'],
      ['s1', '/o/a.nii.gz', '/o/a_mask.nii.gz', 'true'],
    ]);
  });

  it('replaces the columns a synth manifest already has instead of writing them twice', () => {
    const rows = [
      ['path', 'skull_stripped', 'label'],
      ['a.nii.gz', 'false', '1'],
    ];
    expect(rewriteCsv(rows, 0, out)).toEqual([
      ['path', 'skull_stripped', 'label', 'mask_path'],
      ['/o/a.nii.gz', 'true', '1', '/o/a_mask.nii.gz'],
    ]);
    expect(rows[1]).toEqual(['a.nii.gz', 'false', '1']);
  });

  it('leaves out the rows whose scan has no output', () => {
    expect(rewriteCsv([['path'], ['bad.nii.gz'], ['a.nii.gz']], 0, [undefined, out[0]])).toEqual([
      ['path', 'mask_path', 'skull_stripped'],
      ['/o/a.nii.gz', '/o/a_mask.nii.gz', 'true'],
    ]);
  });
});

describe('qumri preprocess: a batch that never loses work', () => {
  // Two small phantom heads, the brain mask of the first (a lesion-mask stand-in: uint8, values 0 and 1)
  // and a truncated copy of the second; --no-brain-extraction and a 16³ grid keep each scan under a second.
  const files: Record<string, Uint8Array> = {};
  beforeAll(() => {
    for (const seed of [1, 2]) {
      const { volume, brain } = phantomHead({ seed, spacing: [8, 8, 8] });
      files[`scan-${seed}.nii.gz`] = writeNifti(volume, { datatype: 'int16', gzip: true });
      if (seed === 1)
        files['scan-1_lesion.nii.gz'] = writeNifti(
          { ...volume, data: Float32Array.from(brain) },
          { datatype: 'uint8', gzip: true },
        );
    }
    files['scan-3.nii.gz'] = files['scan-2.nii.gz'].subarray(0, files['scan-2.nii.gz'].length >> 1);
  });

  function batch(): { root: string; dir: string; path: (name: string) => string } {
    const root = mkdtempSync(path.join(tmpdir(), 'qumri-prep-'));
    const dir = path.join(root, 'scans');
    mkdirSync(dir);
    for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, name), bytes);
    return { root, dir, path: (name) => path.join(dir, name) };
  }
  const preprocess = (input: string, outDir: string, ...more: string[]) =>
    spawnSync('node', [BIN, 'preprocess', input, '--grid', '16', '--no-brain-extraction', '--out', outDir, ...more], {
      encoding: 'utf8',
    });
  const readCsv = (file: string): Record<string, string>[] => {
    const [header, ...rows] = parseCsv(readFileSync(file, 'utf8'));
    return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
  };

  it('a list naming each file: 4 report rows, 2 outputs and 2 errors (the mask and the truncated file), exit 1', () => {
    const b = batch();
    const list = path.join(b.root, 'list.csv');
    writeFileSync(
      list,
      'id,path\n1,scans/scan-1.nii.gz\n2,scans/scan-2.nii.gz\nm,scans/scan-1_lesion.nii.gz\n3,scans/scan-3.nii.gz\n',
    );
    const outDir = path.join(b.root, 'out');
    const r = preprocess(list, outDir);
    expect(r.status).toBe(1);
    const rows = readCsv(path.join(outDir, REPORT));
    expect(rows.map((x) => [x.file, x.status])).toEqual([
      [b.path('scan-1.nii.gz'), 'ok'],
      [b.path('scan-2.nii.gz'), 'ok'],
      [b.path('scan-1_lesion.nii.gz'), 'error'],
      [b.path('scan-3.nii.gz'), 'error'],
    ]);
    expect(rows[2].error).toBe(
      `${b.path('scan-1_lesion.nii.gz')} looks like a mask or label map, not a scan: uint8 voxels with 2 distinct values (0, 1)`,
    );
    expect(rows[3].error).toMatch(/^scan-3\.nii\.gz: the gzip data is truncated/);
    for (const x of rows.slice(0, 2)) for (const f of [x.output, x.mask]) expect(existsSync(f)).toBe(true);
    expect(rows.slice(2).map((x) => x.output + x.mask)).toEqual(['', '']);
    // The rewritten list holds the two prepared scans only.
    expect(readCsv(path.join(outDir, 'list.csv')).map((x) => [x.id, x.path])).toEqual([
      ['1', rows[0].output],
      ['2', rows[1].output],
    ]);
    expect(r.stderr).toMatch(/^2 ok, 2 errors, 0 skipped; report /m);
  });

  it('a folder: the mask is skipped; --resume runs again only the failure and scans whose outputs are gone', () => {
    const b = batch();
    const outDir = path.join(b.root, 'out');
    const report = path.join(outDir, REPORT);
    let r = preprocess(b.dir, outDir);
    expect(r.status).toBe(1);
    const first = readCsv(report);
    expect(first.map((x) => [path.basename(x.file), x.status])).toEqual([
      ['scan-1.nii.gz', 'ok'],
      ['scan-1_lesion.nii.gz', 'skipped'],
      ['scan-2.nii.gz', 'ok'],
      ['scan-3.nii.gz', 'error'],
    ]);
    expect(first[1].error).toBe(
      'looks like a mask or label map, not a scan: uint8 voxels with 2 distinct values (0, 1)',
    );
    const written = statSync(first[0].output).mtimeMs;

    r = preprocess(b.dir, outDir, '--resume');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--resume: 3 of 4 scans are already in .*, not run again/);
    expect(r.stderr).toMatch(/^\[1\/1\] scan-3\.nii\.gz error: /m);
    expect(readCsv(report).slice(0, 3)).toEqual(first.slice(0, 3));
    expect(statSync(first[0].output).mtimeMs).toBe(written);

    rmSync(first[2].output);
    writeFileSync(b.path('scan-3.nii.gz'), files['scan-2.nii.gz']);
    r = preprocess(b.dir, outDir, '--resume');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/--resume: 2 of 4 scans are already in/);
    const last = readCsv(report);
    expect(last.map((x) => [path.basename(x.file), x.status])).toEqual([
      ['scan-1.nii.gz', 'ok'],
      ['scan-1_lesion.nii.gz', 'skipped'],
      ['scan-2.nii.gz', 'ok'],
      ['scan-3.nii.gz', 'ok'],
    ]);
    expect(existsSync(first[2].output)).toBe(true);
  });

  it('documents the report columns', () => {
    expect(Object.keys(COLUMNS).join(',')).toBe(
      'file,status,output,mask,skull_stripped,mask_source,seconds,spec_sha256,sha256,error',
    );
    expect(usage).toContain(Object.keys(COLUMNS).join(','));
  });
});
