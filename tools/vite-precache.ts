/**
 * Vite build plugin: writes precache.json, the list of files the service worker (public/sw.js)
 * caches on install so the page works offline after one visit: every emitted chunk and asset
 * (worker chunks included), the demo scan, and the ONNX Runtime files the /wasm and /webgpu builds load.
 * Model bundles are not listed: the service worker reads them from models/index.json.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Plugin } from 'vite';

/**
 * From ort.env.wasm.wasmPaths ('/ort/'), onnxruntime-web 1.30's /wasm build (the WASM backend) loads
 * the plain threaded build and its /webgpu build (the WebGPU backend) the asyncify one.
 */
const ORT_NEEDED = /^ort\/ort-wasm-simd-threaded(\.asyncify)?\.(mjs|wasm)$/;

function walk(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p, base) : [relative(base, p).split('\\').join('/')];
  });
}

/** Whether a public/ file belongs in the offline cache. */
export function precachePublic(path: string): boolean {
  if (path.startsWith('models/') || path === 'sw.js') return false;
  if (path.startsWith('ort/')) return ORT_NEEDED.test(path);
  return true;
}

export function precachePlugin(): Plugin {
  let publicDir = '';
  return {
    name: 'qumri-precache',
    apply: 'build',
    configResolved(config) {
      publicDir = config.publicDir;
    },
    generateBundle(_options, bundle) {
      // The bundler's own copy of ORT's wasm goes unused: the runtime loads it from /ort/.
      const emitted = Object.keys(bundle).filter((f) => !/^assets\/ort-wasm/.test(f));
      const pub = publicDir ? walk(publicDir).filter(precachePublic) : [];
      this.emitFile({
        type: 'asset',
        fileName: 'precache.json',
        source: JSON.stringify({ files: ['', 'index.html', ...emitted, ...pub] }),
      });
    },
  };
}
