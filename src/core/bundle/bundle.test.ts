import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BundleError, listBundles, loadBundle, parseManifest, sha256Hex, type BundleSource } from './index.ts';
import { dirSource } from './node.ts';

const TINY = fileURLToPath(new URL('../../../fixtures/bundles/tiny-q/', import.meta.url));

/** The tiny bundle with some files replaced or removed, in memory. */
function patched(changes: Record<string, Uint8Array | null>): BundleSource {
  return {
    label: 'patched',
    async read(name) {
      if (name in changes) {
        const v = changes[name];
        if (v === null) throw new Error('ENOENT');
        return v;
      }
      return new Uint8Array(readFileSync(path.join(TINY, name)));
    },
  };
}

const enc = (s: string) => new TextEncoder().encode(s);
const manifestJson = () => JSON.parse(readFileSync(path.join(TINY, 'manifest.json'), 'utf8'));

describe('sha256Hex', () => {
  it('matches the known digest of "abc"', async () => {
    expect(await sha256Hex(enc('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('loadBundle', () => {
  it('loads and verifies a good bundle', async () => {
    const b = await loadBundle(dirSource(TINY));
    expect(b.manifest.id).toBe('tiny-q');
    expect(b.head.layers.map((l) => l.type)).toEqual(['dense', 'quantum', 'pair_logits']);
    expect(b.backbone.byteLength).toBe(b.manifest.files['backbone.onnx'].bytes);
  });

  it('refuses a tampered backbone with the same size', async () => {
    const onnx = new Uint8Array(readFileSync(path.join(TINY, 'backbone.onnx')));
    onnx[onnx.length - 10] ^= 0xff;
    await expect(loadBundle(patched({ 'backbone.onnx': onnx }))).rejects.toThrow(
      /backbone\.onnx has sha256 [0-9a-f]{64}.*refusing the model/,
    );
  });

  it('refuses a file of the wrong size', async () => {
    await expect(loadBundle(patched({ 'head.json': enc('{}') }))).rejects.toThrow(
      /head\.json is 2 bytes, the manifest says/,
    );
  });

  it('names a missing file', async () => {
    await expect(loadBundle(patched({ 'head.json': null }))).rejects.toThrow(/cannot read head\.json/);
  });

  it('rejects a manifest that is not JSON', async () => {
    await expect(loadBundle(patched({ 'manifest.json': enc('{"format": ') }))).rejects.toThrow(
      /manifest\.json is not valid JSON/,
    );
  });

  it('refuses a model too large for the device before reading its files', async () => {
    await expect(loadBundle(dirSource(TINY), { maxBytes: 1000 })).rejects.toThrow(
      /needs .* MiB, more than this device allows/,
    );
  });
});

describe('parseManifest', () => {
  it.each([
    ['format', 'qumri-bundle/0', /format: expected "qumri-bundle\/1"/],
    ['threshold', 1.5, /threshold: expected a number in \[0, 1\], got 1.5/],
    ['dims', 4, /dims: expected 2 or 3, got 4/],
    ['classes', ['a'], /classes: expected two class names/],
    ['files', {}, /files: expected a non-empty object/],
  ])('names a bad %s', (key, value, message) => {
    const m = manifestJson();
    m[key] = value;
    expect(() => parseManifest(JSON.stringify(m))).toThrow(message);
  });

  it('names a bad sha256', () => {
    const m = manifestJson();
    m.files['head.json'].sha256 = 'XYZ';
    expect(() => parseManifest(JSON.stringify(m))).toThrow(BundleError);
    expect(() => parseManifest(JSON.stringify(m))).toThrow(/files\["head\.json"\]\.sha256/);
  });

  it.each([
    ['not an object', 'cam', /outputs\.cam: expected an object/],
    [
      'no weights output',
      { gradient: 'g', feature_map: 'a', n_features: 8, stage: 2 },
      /outputs\.cam\.weights: expected a non-empty string/,
    ],
    [
      'a stage of 0',
      { gradient: 'g', feature_map: 'a', weights: 'w', n_features: 8, stage: 0 },
      /outputs\.cam\.stage: expected a positive integer/,
    ],
    [
      'no feature count',
      { gradient: 'g', feature_map: 'a', weights: 'w', stage: 2 },
      /outputs\.cam\.n_features: expected a positive integer/,
    ],
  ])('names a bad outputs.cam (%s)', (_, cam, message) => {
    const m = manifestJson();
    m.outputs.cam = cam;
    expect(() => parseManifest(JSON.stringify(m))).toThrow(message);
  });

  it('requires backbone.onnx and head.json in files', () => {
    const m = manifestJson();
    delete m.files['backbone.onnx'];
    expect(() => parseManifest(JSON.stringify(m))).toThrow(/an entry for backbone\.onnx/);
  });
});

describe('listBundles', () => {
  it('lists good bundles and reports broken ones without failing', async () => {
    const files: Record<string, string> = {
      'index.json': JSON.stringify({ models: ['tiny-q', 'gone'] }),
      'tiny-q/manifest.json': readFileSync(path.join(TINY, 'manifest.json'), 'utf8'),
    };
    const root = {
      label: 'mem',
      read: async (p: string) => {
        if (!(p in files)) throw new Error(`no ${p}`);
        return enc(files[p]);
      },
    };
    const entries = await listBundles(root);
    expect(entries[0].manifest?.sequence).toBe('FLAIR');
    expect(entries[1].error).toMatch(/cannot read manifest\.json/);
  });

  it('rejects an index without a models list', async () => {
    await expect(listBundles({ label: 'mem', read: async () => enc('{"model": []}') })).rejects.toThrow(
      /expected \{"models"/,
    );
  });
});
