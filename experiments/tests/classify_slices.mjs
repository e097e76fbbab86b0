// P(positive) of a 2D (paper B) bundle on model-grid slices, through the page's own modules in node: bundle
// loader (hash checks), onnxruntime-node backbone, TypeScript head and the WASM quantum kernel. `qumri classify`
// (and the NIfTI reader) take 3D volumes only, so test_bundles.py runs this for dims-2 bundles, with each slice
// as raw little-endian float32 in the slice panel's layout (row-major, 224×224: index x + 224·y).
// Usage: node experiments/tests/classify_slices.mjs <bundle folder> <slice.f32> ...   -> JSON [{file, probability}]
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { register } from 'tsx/esm/api';

register();
const { loadBundle } = await import('../../src/core/bundle/index.ts');
const { resolveModel } = await import('../../src/core/bundle/node.ts');
const { createNodeBackbone } = await import('../../src/core/backbone/node.ts');
const { createClassifier } = await import('../../src/core/head/classifier.ts');

const [folder, ...files] = process.argv.slice(2);
const bundle = await loadBundle(resolveModel(folder));
const grid = bundle.manifest.preprocess.grid;
const backbone = await createNodeBackbone(bundle.backbone, bundle.manifest, { threads: 1 });
const quantum = bundle.head.layers.some((l) => l.type === 'quantum');
const engines = quantum
  ? (await import('../../src/core/head/kernel-engine.ts')).kernelEngineFactory()
  : () => Promise.reject(new Error('no quantum layer expected'));
const clf = await createClassifier(bundle, backbone, await engines);
const out = [];
try {
  for (const file of files) {
    const buf = await readFile(file);
    const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    if (data.length !== grid[0] * grid[1] * grid[2])
      throw new Error(`${file} holds ${data.length} values, the model grid is ${grid.join('×')}`);
    out.push({ file: path.basename(file), probability: (await clf.classify(data)).probability });
  }
} finally {
  await clf.release();
}
console.log(JSON.stringify(out));
