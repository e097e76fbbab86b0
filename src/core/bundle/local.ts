/**
 * Bundles kept in this browser: the models a site adapted in the page (issue 22), stored in
 * IndexedDB so they survive a reload and never leave the machine. The page saves, lists, exports
 * and removes them; the inference worker reads them like a served bundle through `source(id)`, so
 * loadBundle checks their sha256 as it checks any other. IndexedDB exists in windows and workers
 * alike (and, for tests, in fake-indexeddb), so this module needs no DOM.
 *
 * Two object stores: `manifests` (id → manifest.json's bytes and when it was saved), read to list
 * the models without touching their backbones, and `files` (`<id>/<name>` → bytes).
 */
import { BundleError, parseManifest } from './manifest.ts';
import type { BundleSource, RegistryEntry } from './source.ts';

export interface LocalBundles {
  /** Every stored bundle as a registry entry marked `local`, oldest first; an unreadable one carries `error`. */
  list(): Promise<RegistryEntry[]>;
  has(id: string): Promise<boolean>;
  /** Stores a complete bundle (its manifest names its id and files); replaces one with that id. */
  save(files: ReadonlyMap<string, Uint8Array>): Promise<string>;
  /** Every file of a stored bundle, manifest.json first (to export it as a folder). */
  files(id: string): Promise<Map<string, Uint8Array>>;
  source(id: string): BundleSource;
  remove(id: string): Promise<void>;
}

const DB_VERSION = 1;

interface ManifestRecord {
  id: string;
  saved: string;
  /** Save order (two saves within one millisecond share `saved`); a damaged record may lack it. */
  order?: number;
  manifest: Uint8Array;
  names: string[];
}

const request = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });

/** IndexedDB stores a typed array's whole buffer: a view into a larger one is copied out first. */
const whole = (b: Uint8Array): Uint8Array =>
  b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice();

const done = (tx: IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });

/** `factory` is the global indexedDB unless a test passes its own. */
export function indexedDbBundles(name = 'qumri-adapted-models', factory?: IDBFactory): LocalBundles {
  let db: Promise<IDBDatabase> | null = null;
  const open = (): Promise<IDBDatabase> => {
    if (!db) {
      const r = (factory ?? indexedDB).open(name, DB_VERSION);
      r.onupgradeneeded = () => {
        r.result.createObjectStore('manifests', { keyPath: 'id' });
        r.result.createObjectStore('files');
      };
      db = request(r);
      db.catch(() => {
        db = null;
      });
    }
    return db;
  };
  const record = async (id: string): Promise<ManifestRecord | undefined> =>
    request(
      (await open()).transaction('manifests').objectStore('manifests').get(id) as IDBRequest<
        ManifestRecord | undefined
      >,
    );

  async function read(id: string, file: string): Promise<Uint8Array> {
    const bytes = await request(
      (await open()).transaction('files').objectStore('files').get(`${id}/${file}`) as IDBRequest<
        Uint8Array | undefined
      >,
    );
    if (!bytes) throw new Error(`${file} is not stored in this browser for model ${id}`);
    return bytes;
  }

  async function remove(id: string): Promise<void> {
    const rec = await record(id);
    const tx = (await open()).transaction(['manifests', 'files'], 'readwrite');
    tx.objectStore('manifests').delete(id);
    for (const f of rec?.names ?? []) tx.objectStore('files').delete(`${id}/${f}`);
    await done(tx);
  }

  return {
    async list() {
      const recs = await request(
        (await open()).transaction('manifests').objectStore('manifests').getAll() as IDBRequest<ManifestRecord[]>,
      );
      return recs
        .sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
        .map((r): RegistryEntry => {
          try {
            return {
              id: r.id,
              manifest: parseManifest(new TextDecoder().decode(r.manifest), `${r.id}/manifest.json (this browser)`),
              local: true,
            };
          } catch (err) {
            return { id: r.id, error: (err as Error).message, local: true };
          }
        });
    },
    has: async (id) => (await record(id)) !== undefined,
    async save(files) {
      const bytes = files.get('manifest.json');
      if (!bytes) throw new BundleError('a bundle to store needs its manifest.json');
      const manifest = parseManifest(new TextDecoder().decode(bytes), 'manifest.json');
      const missing = Object.keys(manifest.files).filter((f) => !files.has(f));
      if (missing.length)
        throw new BundleError(`model ${manifest.id}: ${missing.join(', ')} missing from the bundle to store`);
      // One transaction: the files of an older bundle with that id go, the new ones come, or nothing changes.
      const tx = (await open()).transaction(['manifests', 'files'], 'readwrite');
      const manifests = tx.objectStore('manifests');
      const stored = tx.objectStore('files');
      const all = manifests.getAll() as IDBRequest<ManifestRecord[]>;
      all.onsuccess = () => {
        const old = all.result.find((r) => r.id === manifest.id);
        for (const f of old?.names ?? []) stored.delete(`${manifest.id}/${f}`);
        manifests.put({
          id: manifest.id,
          saved: new Date().toISOString(),
          order: Math.max(0, ...all.result.map((r) => r.order ?? 0)) + 1,
          manifest: whole(bytes),
          names: [...files.keys()],
        } satisfies ManifestRecord);
        for (const [f, b] of files) stored.put(whole(b), `${manifest.id}/${f}`);
      };
      await done(tx);
      return manifest.id;
    },
    async files(id) {
      const rec = await record(id);
      if (!rec) throw new Error(`model ${id} is not stored in this browser`);
      const names = ['manifest.json', ...rec.names.filter((f) => f !== 'manifest.json')];
      return new Map(await Promise.all(names.map(async (f) => [f, await read(id, f)] as const)));
    },
    source: (id) => ({ label: `this browser's storage/${id}`, read: (f) => read(id, f) }),
    remove,
  };
}
