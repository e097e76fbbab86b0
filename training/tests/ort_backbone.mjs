// Run a backbone.onnx on raw float32 volumes with onnxruntime-node; prints {features, feature_map_shape} per input as JSON.
// Usage: node ort_backbone.mjs model.onnx shape_json in0.f32 [in1.f32 ...]
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const [model, shapeJson, ...inputs] = process.argv.slice(2);
const shape = JSON.parse(shapeJson);
const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
const out = [];
for (const file of inputs) {
  const buf = readFileSync(file);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const res = await session.run({ input: new ort.Tensor('float32', data, shape) });
  out.push({ features: Array.from(res.features.data), feature_map_shape: res.feature_map.dims });
}
console.log(JSON.stringify(out));
