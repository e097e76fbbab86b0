/**
 * Grad-CAM at the backbone's inner stage, as the page computes it (node backbone + head backward +
 * the graph's hand-written VJP), against torch autograd on the same model: reference.json's
 * cam_weights, written by training/export.py. Every bundle whose manifest declares outputs.cam.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBundle } from '../bundle/index.ts';
import { SHIPPED_MODELS, dirSource } from '../bundle/node.ts';
import { createNodeBackbone } from '../backbone/node.ts';
import { createClassifier } from '../head/classifier.ts';
import { kernelEngineFactory } from '../head/kernel-engine.ts';
import { parseNifti } from '../load/nifti.ts';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/bundles/', import.meta.url));

interface Reference {
  inputs: { file: string; probability: number; cam_weights?: number[]; cam_feature_map_dims?: number[] }[];
}

function camBundles(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((d) => path.join(root, d))
    .filter((d) => existsSync(path.join(d, 'manifest.json')) && existsSync(path.join(d, 'reference.json')))
    .filter((d) => JSON.parse(readFileSync(path.join(d, 'manifest.json'), 'utf8')).outputs?.cam);
}

const BUNDLES = [...camBundles(FIXTURES), ...camBundles(SHIPPED_MODELS)];

describe("Grad-CAM at the inner stage: the ONNX graph's VJP vs torch autograd", () => {
  it("the exporter's fixture bundles declare it", () => {
    expect(
      camBundles(FIXTURES)
        .map((d) => path.basename(d))
        .sort(),
    ).toEqual(['tiny-qresnet', 'tiny-resnet']);
  });

  it.each(BUNDLES)("%s: channel weights within 1e-4 of the largest, on the stage's map", async (dir) => {
    const bundle = await loadBundle(dirSource(dir));
    const clf = await createClassifier(
      bundle,
      await createNodeBackbone(bundle.backbone, bundle.manifest, { threads: 1 }),
      kernelEngineFactory(),
    );
    const ref = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Reference;
    for (const r of ref.inputs) {
      const { volume } = parseNifti(new Uint8Array(readFileSync(path.join(dir, r.file))), r.file);
      const p = await clf.classify(Float32Array.from(volume.data), { explain: true });
      expect(Math.abs(p.probability - r.probability)).toBeLessThan(1e-4);
      expect(p.explain?.featureMapDims).toEqual(r.cam_feature_map_dims);
      // reference: ∂(logit₁ − logit₀); the page explains the predicted class, so class 0 flips the sign
      const want = r.cam_weights!.map((v) => (p.cls === 1 ? v : -v));
      const got = Array.from(p.explain!.channelGrad);
      const scale = Math.max(...want.map(Math.abs));
      expect(scale).toBeGreaterThan(0);
      expect(got).toHaveLength(want.length);
      expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]))) / scale).toBeLessThan(1e-3);
    }
    await clf.release();
  });
});
