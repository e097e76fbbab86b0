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
  // a 3D ResNet's graph also takes the Grad-CAM gradient; zeros when only classifying
  const feeds = { input: new ort.Tensor('float32', data, shape) };
  session.inputNames.forEach((name, i) => {
    if (i > 0)
      feeds[name] = new ort.Tensor('float32', new Float32Array(session.inputMetadata[i].shape[1]), [
        1,
        session.inputMetadata[i].shape[1],
      ]);
  });
  const res = await session.run(feeds, ['features', 'feature_map']);
  out.push({ features: Array.from(res.features.data), feature_map_shape: res.feature_map.dims });
}
console.log(JSON.stringify(out));
