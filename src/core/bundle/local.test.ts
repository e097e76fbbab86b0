import { describe, expect, it } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { indexedDbBundles, loadBundle, sha256Hex } from './index.ts';

const TINY = fileURLToPath(new URL('../../../fixtures/bundles/tiny-q/', import.meta.url));
const read = (f: string) => new Uint8Array(readFileSync(path.join(TINY, f)));

/** tiny-q's files under another id (the manifest rewritten, its files unchanged). */
function bundle(id: string, patch: (m: Record<string, unknown>) => void = () => undefined): Map<string, Uint8Array> {
  const m = JSON.parse(new TextDecoder().decode(read('manifest.json'))) as Record<string, unknown>;
  m.id = id;
  patch(m);
  return new Map([
    ['manifest.json', new TextEncoder().encode(JSON.stringify(m))],
    ...Object.keys(m.files as object).map((f) => [f, read(f)] as const),
  ]);
}

describe('indexedDbBundles', () => {
  it('keeps a bundle across openings: listed as local, loaded and verified through its source, exported byte for byte, removed', async () => {
    const idb = new IDBFactory();
    const files = bundle('tiny-q-adapted-1');
    expect(await indexedDbBundles('t', idb).save(files)).toBe('tiny-q-adapted-1');

    // A new handle on the same database stands for a reload of the page.
    const store = indexedDbBundles('t', idb);
    const list = await store.list();
    expect(list.map((e) => [e.id, e.local, e.manifest?.id, e.error])).toEqual([
      ['tiny-q-adapted-1', true, 'tiny-q-adapted-1', undefined],
    ]);
    expect(await store.has('tiny-q-adapted-1')).toBe(true);
    expect(await store.has('tiny-q')).toBe(false);

    const loaded = await loadBundle(store.source('tiny-q-adapted-1'));
    expect(loaded.manifest.id).toBe('tiny-q-adapted-1');
    expect(await sha256Hex(loaded.backbone)).toBe(loaded.manifest.files['backbone.onnx'].sha256);

    const out = await store.files('tiny-q-adapted-1');
    expect([...out.keys()]).toEqual([...files.keys()]);
    expect(out.has('backbone.onnx')).toBe(true);
    for (const [f, b] of files) expect(Buffer.from(out.get(f)!).equals(Buffer.from(b))).toBe(true);

    await store.remove('tiny-q-adapted-1');
    expect(await indexedDbBundles('t', idb).list()).toEqual([]);
    await expect(store.source('tiny-q-adapted-1').read('head.json')).rejects.toThrow(
      /head\.json is not stored in this browser for model tiny-q-adapted-1/,
    );
    await expect(store.files('tiny-q-adapted-1')).rejects.toThrow(/not stored in this browser/);
  });

  it('lists several bundles oldest first and replaces one saved again under its id', async () => {
    const store = indexedDbBundles('t', new IDBFactory());
    await store.save(bundle('a-adapted'));
    await store.save(bundle('b-adapted'));
    await store.save(
      bundle('a-adapted', (m) => {
        m.name = 'renamed';
      }),
    );
    const list = await store.list();
    expect(list.map((e) => e.id)).toEqual(['b-adapted', 'a-adapted']);
    expect(list[1].manifest?.name).toBe('renamed');
  });

  it('stores a file given as a view into a larger buffer as its own bytes', async () => {
    const store = indexedDbBundles('t', new IDBFactory());
    const files = bundle('v');
    const head = files.get('head.json')!;
    const padded = new Uint8Array(head.byteLength + 64);
    padded.set(head, 32);
    files.set('head.json', padded.subarray(32, 32 + head.byteLength));
    await store.save(files);
    const back = await store.source('v').read('head.json');
    expect(back.buffer.byteLength).toBe(head.byteLength);
    await expect(loadBundle(store.source('v'))).resolves.toBeTruthy();
  });

  it('refuses a bundle without a manifest or missing a file its manifest lists, storing nothing', async () => {
    const store = indexedDbBundles('t', new IDBFactory());
    const files = bundle('x');
    files.delete('backbone.onnx');
    await expect(store.save(files)).rejects.toThrow(/model x: backbone\.onnx missing from the bundle to store/);
    await expect(store.save(new Map([['head.json', read('head.json')]]))).rejects.toThrow(/needs its manifest\.json/);
    expect(await store.list()).toEqual([]);
  });

  it('a stored manifest that no longer parses becomes an entry with its error, still removable', async () => {
    const idb = new IDBFactory();
    const store = indexedDbBundles('t', idb);
    await store.save(bundle('y'));
    // Damage the record directly, as a browser profile could.
    const db = await new Promise<IDBDatabase>((res) => {
      const r = idb.open('t', 1);
      r.onsuccess = () => res(r.result);
    });
    await new Promise<void>((res) => {
      const tx = db.transaction('manifests', 'readwrite');
      tx.objectStore('manifests').put({
        id: 'y',
        saved: '2026-01-01',
        manifest: new TextEncoder().encode('{"format": '),
        names: ['manifest.json'],
      });
      tx.oncomplete = () => res();
    });
    db.close();
    const [entry] = await store.list();
    expect(entry.id).toBe('y');
    expect(entry.local).toBe(true);
    expect(entry.error).toMatch(/not valid JSON/);
    await store.remove('y');
    expect(await store.list()).toEqual([]);
  });
});
