/**
 * The WebGPU probe model: a 3.8 KB random-weight 3D net with the shipped models' ops (Conv,
 * MaxPool3d, residual Add, mean pooling) on a 16×12×10 grid, small enough for SwiftShader.
 * Built by `npm run build:probe` (make_probe.py beside it).
 */
import type { SessionShape } from './session.ts';

export const PROBE_SHAPE: SessionShape = {
  id: 'webgpu-probe',
  input: { name: 'input', shape: [1, 1, 10, 12, 16] },
  outputs: { features: 'features', feature_map: 'feature_map' },
};

/** URL of probe.onnx as the bundler serves it (Vite `?url`). */
export { default as PROBE_URL } from './probe.onnx?url';
