/**
 * Vite dev-server plugin: serves ONNX Runtime Web's runtime files from public/ort/ untouched.
 * ORT imports its .mjs glue dynamically from ort.env.wasm.wasmPaths ('/ort/'); Vite's dev server
 * refuses to transform a /public file imported from code, so without this `npm start` could not
 * classify (the production build serves public/ as plain files and needs nothing).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import type { Plugin } from 'vite';

const TYPES: Record<string, string> = { '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

export function serveOrtPlugin(ortDir: string): Plugin {
  return {
    name: 'qumri-serve-ort',
    apply: 'serve',
    configureServer(server) {
      server.middlewares.use('/ort', (req, res, next) => {
        const path = normalize(decodeURIComponent((req.url ?? '').split('?')[0]));
        const file = join(ortDir, path);
        const ext = path.slice(path.lastIndexOf('.'));
        if (!file.startsWith(ortDir) || !TYPES[ext] || !existsSync(file)) return next();
        res.setHeader('Content-Type', TYPES[ext]);
        res.setHeader('Content-Length', String(statSync(file).size));
        res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
        res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
        res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
        createReadStream(file).pipe(res);
      });
    },
  };
}
