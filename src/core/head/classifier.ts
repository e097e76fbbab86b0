/**
 * A loaded model as one object: backbone session + head, giving a prediction (probability, class at
 * the manifest's threshold, per-stage timings) and, on request, what Grad-CAM needs: the head's
 * ∂score/∂features, carried back by the backbone graph to its Grad-CAM stage where the bundle has one
 * (a second backbone run), else applied to the last feature map.
 * Used alike by the node CLI and the inference worker.
 */
import type { Manifest } from '../bundle/manifest.ts';
import type { LoadedBundle } from '../bundle/index.ts';
import type { Backbone, BackendName, CamMap } from '../backbone/session.ts';
import { calibrate } from '../guard/calibration.ts';
import { oodScore } from '../guard/ood.ts';
import { createHead, logOddsGrad, positiveProbability, type Head, type QuantumEngineFactory } from './index.ts';

export interface Prediction {
  /** The model's own P(positive) (what torch computes). */
  probability: number;
  /** P(positive) after the bundle's validation calibration; absent when the bundle has none. */
  calibratedProbability?: number;
  /** Distance of the pooled features to the training features; absent when the bundle has no OOD model. */
  oodScore?: number;
  /** 1 = classes[1] (the positive class). */
  cls: 0 | 1;
  label: string;
  logits: [number, number];
  features: Float32Array;
  /** Each quantum layer's outputs (⟨Z⟩, ⟨X⟩, parity or probabilities) and the input it received. */
  quantum: { input: Float64Array; outputs: Float64Array }[];
  backend: BackendName;
  timings: { backboneMs: number; headMs: number; explainMs?: number };
  /** Present when explain was asked: a feature map and Σ over its cells of ∂(log-odds of the predicted class)/∂map per channel. */
  explain?: CamMap;
}

export interface Classifier {
  readonly manifest: Manifest;
  readonly backbone: Backbone;
  readonly head: Head;
  classify(input: Float32Array, opts?: { explain?: boolean }): Promise<Prediction>;
  release(): Promise<void>;
}

export const classAt = (probability: number, threshold: number): 0 | 1 => (probability >= threshold ? 1 : 0);

export async function createClassifier(
  bundle: LoadedBundle,
  backbone: Backbone,
  engineFor: QuantumEngineFactory,
): Promise<Classifier> {
  const { manifest } = bundle;
  const head = await createHead(bundle.head, engineFor);

  async function classify(input: Float32Array, opts: { explain?: boolean } = {}): Promise<Prediction> {
    const t0 = performance.now();
    const out = await backbone.run(input);
    const t1 = performance.now();
    const trace = await head.forward(out.features);
    const probability = positiveProbability(trace.logits);
    const cls = classAt(probability, manifest.threshold);
    const t2 = performance.now();
    let explain: CamMap | undefined;
    if (opts.explain) {
      const grad = await head.backward(trace, logOddsGrad(cls));
      if (manifest.outputs.cam) {
        explain = (await backbone.run(input, grad)).cam;
      } else {
        if (!out.featureMap || !out.featureMapDims)
          throw new Error(`model ${manifest.id} exports no feature_map: Grad-CAM is not available for it`);
        explain = {
          featureMap: out.featureMap,
          featureMapDims: out.featureMapDims,
          channelGrad: Float32Array.from(grad),
        };
      }
    }
    const t3 = performance.now();
    const quantum = head.spec.layers.flatMap((l, i) =>
      l.type === 'quantum' ? [{ input: trace.inputs[i], outputs: trace.quantum[i]! }] : [],
    );
    return {
      probability,
      ...(manifest.calibration ? { calibratedProbability: calibrate(probability, manifest.calibration) } : {}),
      ...(manifest.ood ? { oodScore: oodScore(out.features, manifest.ood) } : {}),
      cls,
      label: manifest.classes[cls],
      logits: [trace.logits[0], trace.logits[1]],
      features: out.features,
      quantum,
      backend: backbone.backend,
      timings: { backboneMs: t1 - t0, headMs: t2 - t1, ...(opts.explain ? { explainMs: t3 - t2 } : {}) },
      explain,
    };
  }

  return { manifest, backbone, head, classify, release: () => backbone.release() };
}
