/**
 * Model bundles: read a bundle through a source (a folder in node, a URL in the page), check every
 * file against the manifest's sha256 before use, and list the shipped bundles from index.json.
 */
import { verifyFile } from './hash.ts';
import { retryNetwork, type RetryOptions } from './retry.ts';
import { BundleError, parseManifest, type Manifest } from './manifest.ts';
import { parseHead, type HeadSpec } from '../head/spec.ts';
import type { BundleSource, RegistryEntry } from './source.ts';

export * from './manifest.ts';
export { sha256Hex, verifyFile } from './hash.ts';
export { retryNetwork, type RetryOptions } from './retry.ts';
export { indexedDbBundles, type LocalBundles } from './local.ts';
export type { BundleSource, RegistryEntry } from './source.ts';

export interface LoadedBundle {
  manifest: Manifest;
  head: HeadSpec;
  backbone: Uint8Array;
  /** The verified inference files by name (INFERENCE_FILES). */
  files: Map<string, Uint8Array>;
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

async function readOrExplain(source: BundleSource, name: string, id: string): Promise<Uint8Array> {
  try {
    return await source.read(name);
  } catch (err) {
    throw new BundleError(`model ${id}: cannot read ${name} from ${source.label} (${(err as Error).message})`);
  }
}

export async function readManifest(source: BundleSource): Promise<Manifest> {
  return parseManifest(
    text(await readOrExplain(source, 'manifest.json', source.label)),
    `${source.label}/manifest.json`,
  );
}

/** Total bytes of the bundle's files, as the manifest states them. */
export function bundleBytes(m: Manifest): number {
  return Object.values(m.files).reduce((s, f) => s + f.bytes, 0);
}

/** The files inference reads; the rest (reference inputs for parity tests) is never downloaded by the page. */
export const INFERENCE_FILES = ['backbone.onnx', 'head.json'] as const;

/**
 * Loads a bundle and checks every file it uses against the manifest's size and sha256 before
 * use. `maxBytes` refuses, before downloading anything, a model larger than the device can hold.
 */
export async function loadBundle(source: BundleSource, opts: { maxBytes?: number } = {}): Promise<LoadedBundle> {
  const manifest = await readManifest(source);
  const total = INFERENCE_FILES.reduce((s, f) => s + manifest.files[f].bytes, 0);
  if (opts.maxBytes !== undefined && total > opts.maxBytes) {
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    throw new BundleError(
      `model ${manifest.id} needs ${mib(total)}, more than this device allows (${mib(opts.maxBytes)}); choose a smaller model`,
    );
  }
  const files = new Map<string, Uint8Array>();
  for (const name of INFERENCE_FILES) {
    const bytes = await readOrExplain(source, name, manifest.id);
    await verifyFile(manifest.id, name, bytes, manifest.files[name]);
    files.set(name, bytes);
  }
  let head: HeadSpec;
  try {
    head = parseHead(text(files.get('head.json')!));
  } catch (err) {
    throw new BundleError(`model ${manifest.id}: ${(err as Error).message}`);
  }
  return { manifest, head, backbone: files.get('backbone.onnx')!, files };
}

/** The ids listed in models/index.json (`{"models": [...]}`). */
export function parseIndex(json: string): string[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new BundleError(`models/index.json is not valid JSON: ${(err as Error).message}`);
  }
  const models = (raw as { models?: unknown })?.models;
  if (!Array.isArray(models) || !models.every((m) => typeof m === 'string')) {
    throw new BundleError(`models/index.json: expected {"models": ["<id>", ...]}, got ${json.slice(0, 80)}`);
  }
  return models as string[];
}

/** Reads index.json and every listed manifest; a broken bundle becomes an entry with `error`. */
export async function listBundles(root: {
  label: string;
  read(path: string): Promise<Uint8Array>;
}): Promise<RegistryEntry[]> {
  const ids = parseIndex(text(await root.read('index.json')));
  return Promise.all(
    ids.map(async (id): Promise<RegistryEntry> => {
      try {
        const manifest = await readManifest(subSource(root, id));
        if (manifest.id !== id) throw new BundleError(`manifest id ${manifest.id} differs from its folder ${id}`);
        return { id, manifest };
      } catch (err) {
        return { id, error: (err as Error).message };
      }
    }),
  );
}

/** The source of bundle `id` inside a models root. */
export function subSource(root: { label: string; read(path: string): Promise<Uint8Array> }, id: string): BundleSource {
  return { label: `${root.label.replace(/\/$/, '')}/${id}`, read: (name) => root.read(`${id}/${name}`) };
}

/**
 * A source over HTTP(S) relative to `baseUrl` (the page: `/models/`). A network failure, while
 * connecting or reading the body, is tried again (retry.ts); an HTTP error is not.
 */
export function urlSource(baseUrl: string, fetchFn: typeof fetch = fetch, retry: RetryOptions = {}): BundleSource {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return {
    label: base,
    read: (name) =>
      retryNetwork(async () => {
        const res = await fetchFn(`${base}${name}`);
        if (!res.ok) throw new Error(`HTTP ${res.status} for ${base}${name}`);
        // Static servers with an SPA fallback answer a missing file with the app's index.html.
        if (!name.endsWith('.html') && (res.headers.get('content-type') ?? '').includes('text/html'))
          throw new Error(`${base}${name} is missing (the server answered with an HTML page)`);
        return new Uint8Array(await res.arrayBuffer());
      }, retry),
  };
}
