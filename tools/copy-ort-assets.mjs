// Copies ONNX Runtime Web's WASM runtime files into public/ort/ (git-ignored), where the page's
// ort.env.wasm.wasmPaths = '/ort/' finds them; a production build hangs without them (docs: webgpu notes).
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'node_modules', 'onnxruntime-web', 'dist');
const dst = join(root, 'public', 'ort');
if (!existsSync(src)) {
  console.error(`copy-ort-assets: ${src} is missing; run npm ci first`);
  process.exit(1);
}
mkdirSync(dst, { recursive: true });
let copied = 0;
const files = readdirSync(src).filter((f) => /^ort-wasm.*\.(mjs|wasm)$/.test(f));
for (const f of files) {
  const from = join(src, f);
  const to = join(dst, f);
  const same =
    existsSync(to) && statSync(to).size === statSync(from).size && statSync(to).mtimeMs >= statSync(from).mtimeMs;
  if (!same) {
    copyFileSync(from, to);
    copied++;
  }
}
console.log(`copy-ort-assets: ${files.length} files in public/ort (${copied} copied)`);
