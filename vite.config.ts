import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { precachePlugin } from './src/display/inference/precache-plugin.ts';
import { serveOrtPlugin } from './tools/vite-serve-ort.ts';
import { niivuePatchForDeps, niivuePatchPlugin } from './tools/vite-niivue-patch.ts';

// Cross-origin isolation lets ONNX Runtime Web use 2 WASM threads (SharedArrayBuffer).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [react(), niivuePatchPlugin(), precachePlugin(), serveOrtPlugin(fileURLToPath(new URL('./public/ort', import.meta.url)))],
  server: { headers: isolation },
  preview: { headers: isolation },
  // NiiVue is pre-bundled in dev: the gradient patch must run there too (see tools/vite-niivue-patch.ts).
  optimizeDeps: { exclude: ['onnxruntime-web', '@niivue/dcm2niix'], rolldownOptions: { plugins: [niivuePatchForDeps] } },
  worker: { format: 'es' },
  // NiiVue alone is ~1 MB minified; a warning about it on every build would only hide real ones.
  build: { target: 'es2022', chunkSizeWarningLimit: 2048 },
});
