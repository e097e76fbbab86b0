import { describe, expect, it, vi } from 'vitest';

vi.mock('../store/index.ts', () => ({ useStore: { getState: () => ({}) } }));
const { filesFromDrop } = await import('./load-controller.ts');

/** Minimal stand-ins for the FileSystem entry API a folder drop hands over. */
function fileEntry(name: string) {
  return { isFile: true, isDirectory: false, name, file: (ok: (f: File) => void) => ok(new File(['x'], name)) };
}
function dirEntry(name: string, children: unknown[], batch = 2) {
  return {
    isFile: false,
    isDirectory: true,
    name,
    createReader: () => {
      let at = 0;
      // Like Chromium, hand out entries in batches and then an empty batch.
      return {
        readEntries: (ok: (e: unknown[]) => void) => {
          ok(children.slice(at, at + batch));
          at += batch;
        },
      };
    },
  };
}
function transfer(entries: unknown[]): DataTransfer {
  return {
    items: entries.map((e) => ({ kind: 'file', webkitGetAsEntry: () => e })),
    files: [],
  } as unknown as DataTransfer;
}

describe('filesFromDrop', () => {
  it('walks nested folders, reading every batch, and keeps relative paths', async () => {
    const dt = transfer([
      dirEntry('study', [fileEntry('IM1'), fileEntry('IM2'), fileEntry('IM3'), dirEntry('s2', [fileEntry('IM1')])]),
      fileEntry('loose.nii.gz'),
    ]);
    const got = (await filesFromDrop(dt)).map((f) => [f.file.name, f.path]);
    expect(got).toEqual([
      ['IM1', 'study/IM1'],
      ['IM2', 'study/IM2'],
      ['IM3', 'study/IM3'],
      ['IM1', 'study/s2/IM1'],
      ['loose.nii.gz', ''],
    ]);
  });

  it('falls back to dataTransfer.files when items give no entries', async () => {
    const f = new File(['x'], 'a.nii');
    const dt = { items: [{ kind: 'file', webkitGetAsEntry: () => null }], files: [f] } as unknown as DataTransfer;
    expect(await filesFromDrop(dt)).toEqual([{ file: f, path: '' }]);
  });
});
