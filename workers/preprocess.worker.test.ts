import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNifti } from '../src/core/load/nifti.ts';
import { writeNifti } from '../src/core/load/nifti-write.ts';
import { phantomHead } from '../src/core/preprocess/testing/phantom-head.ts';
import { preprocessBytes } from './preprocess.worker.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'qumri-pre-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('worker path vs CLI path', () => {
  it('give bit-identical data and masks; the CLI rewrites the CSV list', async () => {
    const { volume } = phantomHead({ seed: 5, tiltDeg: 7 });
    const bytes = writeNifti(volume, { datatype: 'uint16', gzip: true });
    writeFileSync(join(dir, 'head.nii.gz'), bytes);
    writeFileSync(join(dir, 'list.csv'), 'subject,path,label\n"s,1",head.nii.gz,1\n');

    const fromWorker = preprocessBytes(bytes, 'head.nii.gz', { grid: [40, 48, 36] });

    const out = join(dir, 'out');
    const cli = await run(process.execPath, [
      'bin/qumri.mjs',
      'preprocess',
      join(dir, 'list.csv'),
      '--grid',
      '40x48x36',
      '--out',
      out,
    ]);
    expect(cli.stderr).toMatch(/\[1\/1\] head\.nii\.gz/);
    const data = parseNifti(new Uint8Array(readFileSync(join(out, 'head.nii.gz'))), 'head.nii.gz').volume;
    const mask = parseNifti(new Uint8Array(readFileSync(join(out, 'head_mask.nii.gz'))), 'head_mask.nii.gz').volume;

    expect(data.dims).toEqual([40, 48, 36]);
    expect(
      Buffer.from(data.data.buffer, data.data.byteOffset, data.data.byteLength).equals(
        Buffer.from(fromWorker.data.buffer),
      ),
    ).toBe(true);
    expect(Array.from(mask.data, (v) => (v ? 1 : 0))).toEqual(Array.from(fromWorker.mask));
    // The file's sform is float32.
    data.affine.forEach((v, i) => expect(v).toBeCloseTo(fromWorker.affine[i], 3));

    const csv = readFileSync(join(out, 'list.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('subject,path,label,mask_path,skull_stripped');
    expect(csv[1]).toBe(`"s,1",${join(out, 'head.nii.gz')},1,${join(out, 'head_mask.nii.gz')},false`);
    expect(JSON.parse(readFileSync(join(out, 'spec.json'), 'utf8')).grid).toEqual([40, 48, 36]);
  });

  it('the CLI exits 2 on bad usage and 1 naming a bad input', async () => {
    const usage = await run(process.execPath, ['bin/qumri.mjs', 'preprocess', '--grid', '12x']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(usage).toMatchObject({ code: 2 });
    const missing = await run(process.execPath, [
      'bin/qumri.mjs',
      'preprocess',
      join(dir, 'nope.nii.gz'),
      '--out',
      join(dir, 'o'),
    ]).catch((e: { code: number; stderr: string }) => e);
    expect(missing).toMatchObject({ code: 1 });
    expect((missing as { stderr: string }).stderr).toMatch(/nope\.nii\.gz/);
  });
});
