import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { precachePlugin } from './tools/vite-precache.ts';
import { serveOrtPlugin } from './tools/vite-serve-ort.ts';
import { niivuePatchForDeps, niivuePatchPlugin } from './tools/vite-niivue-patch.ts';

// Cross-origin isolation lets ONNX Runtime Web use 2 WASM threads (SharedArrayBuffer).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// The page's Content-Security-Policy, from index.html's meta tag: `vite preview` (the e2e tests'
// server) also sends it as a header, as docs/deploy.md asks of servers, because only a header
// binds the page's workers too.
const CSP_META = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/;
const csp = CSP_META.exec(readFileSync(fileURLToPath(new URL('./index.html', import.meta.url)), 'utf8'))?.[1];
if (!csp) throw new Error('index.html has no Content-Security-Policy meta tag');

/** The dev server injects each CSS file as a <style> element; the built page links its CSS files. */
function devInlineStylesPlugin(): Plugin {
  return {
    name: 'qumri-dev-inline-styles',
    apply: 'serve',
    transformIndexHtml: (html) =>
      html.replace(CSP_META, (tag) => tag.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")),
  };
}

export default defineConfig({
  plugins: [
    react(),
    devInlineStylesPlugin(),
    niivuePatchPlugin(),
    precachePlugin(),
    serveOrtPlugin(fileURLToPath(new URL('./public/ort', import.meta.url))),
  ],
  server: { headers: isolation },
  preview: { headers: { ...isolation, 'Content-Security-Policy': csp } },
  // NiiVue is pre-bundled in dev: the gradient patch must run there too (see tools/vite-niivue-patch.ts).
  optimizeDeps: {
    exclude: ['onnxruntime-web', '@niivue/dcm2niix'],
    rolldownOptions: { plugins: [niivuePatchForDeps] },
  },
  worker: { format: 'es' },
  // NiiVue alone is ~1 MB minified; a warning about it on every build would only hide real ones.
  build: { target: 'es2022', chunkSizeWarningLimit: 2048 },
});
