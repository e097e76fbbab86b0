import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createHead, logOddsGrad, parseHead, positiveProbability } from './index.ts';
import { kernelEngineFactory, quantumDetails } from './kernel-engine.ts';
import { circuitView } from './circuit-view.ts';
import { loadBundle } from '../bundle/index.ts';
import { dirSource } from '../bundle/node.ts';
import { createNodeBackbone } from '../backbone/node.ts';
import { createClassifier } from './classifier.ts';

const TINY_Q = fileURLToPath(new URL('../../../fixtures/bundles/tiny-q/', import.meta.url));
const ref = JSON.parse(readFileSync(`${TINY_Q}reference.json`, 'utf8')) as {
  inputs: { features: number[]; logits: number[]; probability: number }[];
};
const spec = parseHead(readFileSync(`${TINY_Q}head.json`, 'utf8'));

describe('quantum head on the WASM kernel', () => {
  it('reproduces the independent numpy reference (ZZFeatureMap + RealAmplitudes, parity)', async () => {
    const head = await createHead(spec, kernelEngineFactory());
    for (const r of ref.inputs) {
      const t = await head.forward(r.features);
      expect(t.logits[0]).toBeCloseTo(r.logits[0], 10);
      expect(Math.abs(positiveProbability(t.logits) - r.probability)).toBeLessThan(1e-10);
    }
  });

  it('backward (adjoint through the circuit + dense VJP) matches finite differences of the log-odds', async () => {
    const head = await createHead(spec, kernelEngineFactory());
    const x = Float64Array.from(ref.inputs[0].features);
    const g = await head.backward(await head.forward(x), logOddsGrad(1));
    const h = 1e-6;
    for (let i = 0; i < x.length; i++) {
      const a = x.slice(),
        b = x.slice();
      a[i] += h;
      b[i] -= h;
      const [ta, tb] = await Promise.all([head.forward(a), head.forward(b)]);
      const fd = (ta.logits[1] - ta.logits[0] - (tb.logits[1] - tb.logits[0])) / (2 * h);
      expect(g[i]).toBeCloseTo(fd, 6);
    }
  });

  it('rejects a quantum layer whose weights do not fit the circuit', async () => {
    const bad = parseHead(readFileSync(`${TINY_Q}head.json`, 'utf8').replace('"weights": [', '"weights": [0.5, '));
    await expect(createHead(bad, kernelEngineFactory())).rejects.toThrow(/takes 6 weights, the layer stores 7/);
  });
});

describe('quantum panel data', () => {
  const layer = spec.layers[1];
  if (layer.type !== 'quantum') throw new Error('fixture: layer 1 should be quantum');
  const input = Float64Array.of(0.4, -1.2);

  it('gives ⟨Z⟩, ⟨X⟩ and probabilities that agree with each other and with the parity readout', async () => {
    const d = await quantumDetails(layer, input, null);
    expect(d.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // ⟨Z0⟩ = p(00) − p(01) + p(10) − p(11) with qubit 0 the least significant bit.
    const [p0, p1, p2, p3] = d.probabilities;
    expect(d.z[0]).toBeCloseTo(p0 - p1 + p2 - p3, 12);
    expect(d.readout[0]).toBeCloseTo(p0 - p1 - p2 + p3, 12);
    expect(d.x.every((v) => Math.abs(v) <= 1)).toBe(true);
    expect(d.qasm).toMatch(/^OPENQASM 3\.0;/);
  });

  it('seeded shots are reproducible and near the exact values', async () => {
    const a = await quantumDetails(layer, input, { count: 4096, seed: 7 });
    const b = await quantumDetails(layer, input, { count: 4096, seed: 7 });
    const exact = await quantumDetails(layer, input, null);
    expect(a.probabilities).toEqual(b.probabilities);
    a.probabilities.forEach((p, i) => expect(Math.abs(p - exact.probabilities[i])).toBeLessThan(0.05));
  });

  it('draws the circuit with bound angles', () => {
    const v = circuitView(layer.circuit, input, layer.weights);
    expect(v.nQubits).toBe(2);
    // ZZFeatureMap reps 2 on 2 qubits: per rep 2 H + 2 P + 1 ZZ; RealAmplitudes reps 2: 3 RY layers + 2 CX.
    expect(v.ops.map((o) => o.name)).toEqual([
      'h',
      'h',
      'p',
      'p',
      'zz',
      'h',
      'h',
      'p',
      'p',
      'zz',
      'ry',
      'ry',
      'cx',
      'ry',
      'ry',
      'cx',
      'ry',
      'ry',
    ]);
    expect(v.ops[2].angles[0]).toBeCloseTo(2 * 0.4, 12);
    expect(v.ops[4].angles[0]).toBeCloseTo(2 * (Math.PI - 0.4) * (Math.PI + 1.2), 12);
    expect(v.ops[10].angles[0]).toBe(layer.weights[0]);
  });
});

describe('classifier (node backbone + quantum head)', () => {
  it('classifies a preprocessed input and explains it', async () => {
    const bundle = await loadBundle(dirSource(TINY_Q));
    const clf = await createClassifier(
      bundle,
      await createNodeBackbone(bundle.backbone, bundle.manifest, { threads: 1 }),
      kernelEngineFactory(),
    );
    const grid = bundle.manifest.preprocess.grid;
    const input = new Float32Array(grid[0] * grid[1] * grid[2]).map((_, i) => (i % 7) / 7);
    const p = await clf.classify(input, { explain: true });
    expect(p.backend).toBe('node-cpu');
    expect(p.quantum).toHaveLength(1);
    expect(p.explain?.featureMapDims).toEqual([6, 5, 6, 8]);
    expect(p.explain?.channelGrad).toHaveLength(6);
    await expect(clf.classify(new Float32Array(10))).rejects.toThrow(/expects 16×12×10 voxels \(1920\), got 10/);
    await clf.release();
  });
});

describe('2D slice bundle (paper-B style: sigmoid_pi → angle + rxyz_ring, ⟨Z⟩ → dense)', () => {
  const dir = fileURLToPath(new URL('../../../fixtures/bundles/tiny-2d/', import.meta.url));
  const ref2d = JSON.parse(readFileSync(`${dir}reference.json`, 'utf8')) as {
    inputs: { file: string; features: number[]; probability: number }[];
  };

  it('head reproduces the numpy reference', async () => {
    const head = await createHead(parseHead(readFileSync(`${dir}head.json`, 'utf8')), kernelEngineFactory());
    for (const r of ref2d.inputs)
      expect(Math.abs(positiveProbability((await head.forward(r.features)).logits) - r.probability)).toBeLessThan(
        1e-10,
      );
  });

  it('backbone + head on the 224×224 reference slices match torch within 1e-4', async () => {
    const { gunzipSync } = await import('fflate');
    const bundle = await loadBundle(dirSource(dir));
    const clf = await createClassifier(
      bundle,
      await createNodeBackbone(bundle.backbone, bundle.manifest, { threads: 1 }),
      kernelEngineFactory(),
    );
    for (const r of ref2d.inputs) {
      // nibabel wrote a float32 NIfTI-1 with its data at byte 352.
      const raw = gunzipSync(new Uint8Array(readFileSync(`${dir}${r.file}`)));
      const slice = new Float32Array(raw.slice(352, 352 + 224 * 224 * 4).buffer);
      const p = await clf.classify(slice, { explain: true });
      expect(Math.abs(p.probability - r.probability)).toBeLessThan(1e-4);
      expect(p.explain?.featureMapDims).toEqual([6, 28, 28]);
    }
    await clf.release();
  });
});
