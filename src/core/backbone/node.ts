/** The backbone in node (CLI, benchmarks, parity tests) through onnxruntime-node on the CPU. */
import * as ort from 'onnxruntime-node';
import type { Manifest } from '../bundle/manifest.ts';
import { runSession, type Backbone, type OrtLike } from './session.ts';

export async function createNodeBackbone(
  model: Uint8Array,
  manifest: Manifest,
  opts: { threads?: number } = {},
): Promise<Backbone> {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: opts.threads ?? 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  return {
    backend: 'node-cpu',
    run: (input, camGradient) => runSession(ort as unknown as OrtLike, session, manifest, input, camGradient),
    release: () => session.release(),
  };
}
