import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  buildRow,
  CsvLog,
  formatCsv,
  notAScan,
  parseCsv,
  planResume,
  readPriorRows,
  type Columns,
  type CsvRecord,
} from './batch.ts';
import { sha256Hex } from '../core/bundle/hash.ts';
import type { Volume } from '../core/volume.ts';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'qumri-batch-'));

describe('buildRow', () => {
  it('reads each column from the outcome, in the list order', () => {
    const columns = { b: (o: { x: number }) => o.x * 2, a: () => null } satisfies Columns<{ x: number }>;
    const row = buildRow(columns, { x: 3 });
    expect(row).toEqual({ b: 6, a: null });
    expect(Object.keys(row)).toEqual(['b', 'a']);
  });
});

describe('CSV', () => {
  it('round-trips commas, quotes and newlines', () => {
    const rows = [
      ['file', 'error'],
      ['a,b.nii', 'said "no"\non two lines'],
      ['c.nii', ''],
    ];
    expect(formatCsv(rows)).toBe('file,error\n"a,b.nii","said ""no""\non two lines"\nc.nii,\n');
    expect(parseCsv(formatCsv(rows))).toEqual(rows);
  });
});

describe('CsvLog', () => {
  it('has each row on disk as soon as append returns, after the header and the kept rows', async () => {
    const file = path.join(tmp(), 'out.csv');
    writeFileSync(file, 'old content\n');
    const log = await CsvLog.create(
      file,
      ['file', 'p', 'error'],
      [{ file: 'kept.nii', p: '0.5', error: '', extra: 'dropped' }],
    );
    await log.append({ file: 'new.nii', p: 0.25, error: null });
    // Read before close: nothing may sit in a buffer.
    expect(readFileSync(file, 'utf8')).toBe('file,p,error\nkept.nii,0.5,\nnew.nii,0.25,\n');
    await log.append({ file: 'bad,name.nii', p: null, error: 'truncated' });
    expect(readFileSync(file, 'utf8').split('\n').at(-2)).toBe('"bad,name.nii",,truncated');
    await log.close();
  });
});

describe('readPriorRows', () => {
  it('gives no rows for a CSV that is not there yet', async () => {
    expect(await readPriorRows(path.join(tmp(), 'none.csv'), ['file'])).toEqual([]);
  });
  it('reads rows by column name', async () => {
    const file = path.join(tmp(), 'out.csv');
    writeFileSync(file, 'file,status\na.nii,ok\n');
    expect(await readPriorRows(file, ['file', 'status'])).toEqual([{ file: 'a.nii', status: 'ok' }]);
  });
  it('refuses a CSV without the columns resuming needs, naming them', async () => {
    const file = path.join(tmp(), 'old.csv');
    writeFileSync(file, 'file,model,probability\na.nii,m,0.5\n');
    await expect(readPriorRows(file, ['file', 'model', 'sha256', 'status'])).rejects.toThrow(
      /old\.csv has no sha256, status column/,
    );
  });
});

describe('planResume', () => {
  it("skips finished inputs with the same bytes, retries errors and changed files, keeps other models' rows", async () => {
    const dir = tmp();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => path.join(dir, `${n}.nii`));
    for (const f of [a, b, c, d]) writeFileSync(f, `bytes of ${f}`);
    const sha = async (f: string) => sha256Hex(new Uint8Array(readFileSync(f)));
    const row = async (file: string, model: string, status: string, sha256?: string): Promise<CsvRecord> => ({
      file,
      model,
      status,
      sha256: sha256 ?? (await sha(file)),
    });
    const prior = [
      await row(a, 'm', 'error'), // an earlier failure of a...
      await row(a, 'm', 'ok'), // ...then its success: a is done
      await row(b, 'm', 'error'), // retried
      await row(c, 'm', 'ok', '0'.repeat(64)), // c changed since: run again
      await row(c, 'other', 'ok'), // another model's row: kept
      await row(d, 'm', 'skipped'), // done
      await row(path.join(dir, 'gone.nii'), 'm', 'ok', '1'.repeat(64)), // not in this run: kept
    ];
    const plan = await planResume(prior, [a, b, c, d], {
      same: (r) => r.model === 'm',
      finished: (r) => r.model === 'm' && (r.status === 'ok' || r.status === 'skipped'),
    });
    expect([...plan.done.keys()]).toEqual([0, 3]);
    expect(plan.done.get(0)).toBe(prior[1]);
    expect(plan.kept).toEqual([prior[1], prior[4], prior[5], prior[6]]);
  });
});

describe('notAScan', () => {
  const volume = (datatype: Volume['datatype'], values: number[]): Volume => ({
    dims: [values.length, 1, 1],
    spacing: [1, 1, 1],
    affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    datatype,
    data: Float32Array.from(values),
  });
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);

  it('names a mask or label map: integer voxels, at most 10 distinct values', () => {
    expect(notAScan(volume('uint8', [0, 1, 1, 0]))).toBe(
      'looks like a mask or label map, not a scan: uint8 voxels with 2 distinct values (0, 1)',
    );
    expect(notAScan(volume('int16', range(10)))).toMatch(/int16 voxels with 10 distinct values/);
  });
  it('lets scans through: more than 10 values, or floating-point voxels', () => {
    expect(notAScan(volume('int16', range(11)))).toBeNull();
    expect(notAScan(volume('float32', [0, 1, 1, 0]))).toBeNull();
  });
});
