// Site adaptation end to end on cached features: fine-tuning lowers the loss on a toy site shift,
// cross-validation keeps the shipped head when fine-tuning does not help, results are deterministic
// for a seed, bad input is named, and the written bundle passes the registry's checks.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBundle, parseManifest, validateManifest } from '../bundle/index.ts';
import { dirSource } from '../bundle/node.ts';
import { createHead, positiveProbability } from '../head/index.ts';
import { kernelEngineFactory } from '../head/kernel-engine.ts';
import { parseHead, type HeadSpec } from '../head/spec.ts';
import { createSimulator, type QuantumKernel } from '../quantum/simulator.ts';
import { testEngine } from '../quantum/testing/helpers.ts';
import { mulberry32 } from '../random.ts';
import { adamInit, adamStep } from './adam.ts';
import { forwardBatch, headNet, lossAndGrad, probabilities } from './backprop.ts';
import { train } from './fit.ts';
import { assignFolds, LOO_MAX } from './folds.ts';
import {
  adaptationCaveats,
  adaptedBundle,
  adaptHead,
  AdaptError,
  labelCounts,
  type AdaptProgress,
  type LabelledScan,
} from './index.ts';
import { flattenParams } from './params.ts';

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../fixtures/adapt/torch-head-grad.json', import.meta.url)), 'utf8'),
) as { cases: { shipped: unknown }[] };
/** Paper A's head shape (sigmoid_pi dense → ZZFeatureMap + RealAmplitudes, parity → pair_logits) on 6 features. */
const paperA = parseHead(JSON.stringify(fixture.cases[0].shipped));
const CLASSES = ['healthy', 'lesion'] as const;

let kernel: QuantumKernel;
beforeAll(async () => {
  kernel = createSimulator(await testEngine());
});

/**
 * A site whose classes differ along the first two features (±shift), the rest noise, alternating
 * labels; `shift` 0 gives labels unrelated to the features.
 */
function site(n: number, seed: number, shift = 0.6, width = 6): LabelledScan[] {
  const r = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return Array.from({ length: n }, (_, i) => {
    const s = i % 2 ? 1 : -1;
    return {
      name: `scan-${i}`,
      label: CLASSES[i % 2],
      features: Float32Array.from({ length: width }, (_, k) => 0.5 + (k < 2 ? shift * s : 0) + 0.3 * gauss()),
    };
  });
}

const model = (head: HeadSpec = paperA) => ({ head, classes: CLASSES, threshold: 0.5 });

describe('fine-tuning', () => {
  it('lowers the training loss on a toy site shift', () => {
    const net = headNet(paperA, kernel);
    const scans = site(16, 1);
    const x = Float64Array.from(scans.flatMap((s) => Array.from(s.features)));
    const y = Uint8Array.from(scans, (s) => CLASSES.indexOf(s.label as (typeof CLASSES)[number]));
    const theta0 = flattenParams(paperA);
    const anchor = { theta0, l2: 1e-3 };
    const losses: number[] = [];
    const theta = train(net, theta0, x, y, { epochs: 60, lr: 0.01, l2: 1e-3 }, (_, t) =>
      losses.push(lossAndGrad(net, t, x, y, anchor).loss),
    );
    expect(losses).toHaveLength(61);
    expect(losses[60]).toBeLessThan(0.5 * losses[0]);
    expect(lossAndGrad(net, theta, x, y, anchor).loss).toBe(losses[60]);
  });

  it('adaptHead: lower held-out loss, higher cross-validated AUC, and a head the classifier runs as trained', async () => {
    const scans = site(16, 1);
    const progress: AdaptProgress[] = [];
    const r = adaptHead(model(), scans, kernel, { seed: 1 }, { onProgress: (p) => progress.push(p) });
    expect(r.folds).toBe('leave-one-out (16 folds)');
    expect(r.perClass).toEqual({ healthy: 8, lesion: 8 });
    expect(r.epochs).toBeGreaterThan(0);
    expect(r.heldOutLoss.after).toBeLessThan(r.heldOutLoss.before);
    expect(r.after.auc.value).toBeGreaterThan(r.before.auc.value);
    expect(r.after.auc.value).toBeGreaterThan(0.9);
    expect(r.calibration?.a).toBeGreaterThan(0);
    expect(progress.filter((p) => p.stage === 'cross-validation')).toHaveLength(16 * (r.options.epochs + 1));
    expect(progress.at(-1)).toMatchObject({ stage: 'final', fold: 17, folds: 17, epoch: r.epochs, epochs: r.epochs });

    // The inference path (createHead on the WASM kernel) gives what the trainer's forward gives.
    const inference = await createHead(r.head, kernelEngineFactory());
    const net = headNet(r.head, kernel);
    const trained = probabilities(
      forwardBatch(net, flattenParams(r.head), Float64Array.from(Array.from(scans[3].features))),
    );
    expect(positiveProbability((await inference.forward(scans[3].features)).logits)).toBeCloseTo(trained[0], 12);
  });

  it('keeps the shipped head when fine-tuning does not lower the held-out loss', () => {
    // Identical features, balanced labels, a head answering ½: each leave-one-out fit can only learn
    // its training fold's majority, which is always the held-out scan's other class, so every step
    // raises the held-out loss and cross-validation keeps 0 steps.
    const flat = parseHead(
      JSON.stringify({
        format: 'qumri-head/1',
        layers: [
          {
            type: 'dense',
            in: 6,
            out: 2,
            activation: 'none',
            weight: [Array(6).fill(0), Array(6).fill(0)],
            bias: [0, 0],
          },
        ],
      }),
    );
    const scans = Array.from({ length: 6 }, (_, i) => ({
      name: `scan-${i}`,
      label: CLASSES[i % 2],
      features: new Float32Array(6).fill(0.5),
    }));
    const res = adaptHead(model(flat), scans, null, { epochs: 20 });
    expect(res.epochs).toBe(0);
    expect(flattenParams(res.head)).toEqual(flattenParams(flat));
    expect(res.heldOutLoss.after).toBe(res.heldOutLoss.before);
    expect(res.heldOutLoss.before).toBeCloseTo(Math.LN2, 14);
  });

  it('is deterministic for a seed (k-fold, shuffled by the seed)', () => {
    const scans = site(30, 5);
    const a = adaptHead(model(), scans, kernel, { seed: 7, epochs: 40 });
    expect(a.folds).toBe('5-fold stratified (seed 7)');
    const b = adaptHead(model(), scans, kernel, { seed: 7, epochs: 40 });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(flattenParams(b.head)).toEqual(flattenParams(a.head));
    const c = adaptHead(model(), scans, kernel, { seed: 8, epochs: 40 });
    expect(c.predictions.after).not.toEqual(a.predictions.after);
  });

  it('can be cancelled', () => {
    const abort = new AbortController();
    abort.abort(new Error('cancelled by the user'));
    expect(() => adaptHead(model(), site(8, 1), kernel, {}, { signal: abort.signal })).toThrow(/cancelled by the user/);
  });
});

describe('bad input is named', () => {
  const run =
    (scans: LabelledScan[], force = false) =>
    () =>
      adaptHead(model(), scans, kernel, { force, epochs: 2 });
  const scans = site(8, 3);

  it.each([
    [
      'a class with no scans',
      scans.filter((s) => s.label === 'healthy'),
      /no scans labelled "lesion": adaptation needs scans of both classes \(healthy, lesion\)/,
    ],
    [
      'features of the wrong length',
      scans.map((s, i) => (i === 2 ? { ...s, features: Array.from(s.features).slice(1) } : s)),
      /scan scan-2: 5 features, the model's head takes 6/,
    ],
    [
      'a non-finite feature',
      scans.map((s, i) => (i === 1 ? { ...s, features: Float32Array.of(1, 2, NaN, 4, 5, 6) } : s)),
      /scan scan-1: feature 2 is NaN/,
    ],
    [
      'a label not among the classes',
      scans.map((s, i) => (i === 4 ? { ...s, label: 'MS' } : s)),
      /scan scan-4: label "MS" is not one of the model's classes \(healthy, lesion\)/,
    ],
  ])('%s', (_, bad, message) => {
    expect(run(bad)).toThrow(AdaptError);
    expect(run(bad)).toThrow(message);
    expect(run(bad, true)).toThrow(message);
  });

  it('fewer than 3 scans in a class: refused unless forced', () => {
    const few = scans.filter((s, i) => s.label === 'healthy' || i < 5);
    expect(run(few)).toThrow(/only 2 labelled "lesion": adaptation needs at least 3 scans of each class/);
    try {
      run(few)();
    } catch (err) {
      expect((err as AdaptError).code).toBe('too-few');
    }
    expect(run(few, true)().perClass).toEqual({ healthy: 4, lesion: 2 });
  });

  it('labels alone are checked before any backbone work (labelCounts)', () => {
    const labels = scans.map(({ name, label }) => ({ name, label }));
    expect(labelCounts(labels, CLASSES)).toEqual({ healthy: 4, lesion: 4 });
    expect(() => labelCounts(labels.slice(0, 5), CLASSES)).toThrow(/only 2 labelled "lesion"/);
    expect(() => labelCounts([...labels, { name: 'x', label: 'Lesion' }], CLASSES)).toThrow(
      /scan x: label "Lesion" is not one of the model's classes/,
    );
  });
});

describe('folds and Adam', () => {
  it('leave-one-out up to LOO_MAX scans, else stratified k-fold fixed by the seed', () => {
    expect(assignFolds([0, 1, 0, 1], 9)).toMatchObject({ k: 4, fold: Int32Array.of(0, 1, 2, 3) });
    const y = Array.from({ length: LOO_MAX + 6 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const a = assignFolds(y, 1);
    expect(a.k).toBe(5);
    expect(assignFolds(y, 1).fold).toEqual(a.fold);
    expect(assignFolds(y, 2).fold).not.toEqual(a.fold);
    for (let f = 0; f < 5; f++) {
      const members = y.filter((_, i) => a.fold[i] === f);
      expect(members.length).toBe(6);
      expect(members.filter((v) => v === 1).length).toBe(2);
    }
    expect(() => assignFolds([1], 0)).toThrow(/at least 2 scans/);
  });

  it("Adam's first step moves every parameter by lr against its gradient's sign", () => {
    const theta = Float64Array.of(1, -2, 0.5);
    const { theta: next, state } = adamStep(theta, Float64Array.of(3, -0.01, 200), adamInit(3), { lr: 0.1 });
    expect(Array.from(next, (v, k) => v - theta[k]).map((d) => Number(d.toFixed(6)))).toEqual([-0.1, 0.1, -0.1]);
    expect(state.t).toBe(1);
    expect(theta).toEqual(Float64Array.of(1, -2, 0.5));
  });
});

describe('the adapted bundle', () => {
  const SOURCE = fileURLToPath(new URL('../../../fixtures/bundles/tiny-qresnet/', import.meta.url));

  it("is complete, passes the registry's checks and carries the card", async () => {
    const source = await loadBundle(dirSource(SOURCE));
    const manifestBytes = new Uint8Array(readFileSync(`${SOURCE}manifest.json`));
    const result = adaptHead(
      { head: source.head, classes: source.manifest.classes, threshold: source.manifest.threshold },
      site(8, 4, 0.6, 32).map((s) => ({
        ...s,
        label: source.manifest.classes[CLASSES.indexOf(s.label as (typeof CLASSES)[number])],
      })),
      kernel,
      { epochs: 20 },
    );
    const out = await adaptedBundle({ manifest: source.manifest, manifestBytes, backbone: source.backbone }, result, {
      id: 'tiny-qresnet-here',
      date: '2026-12-07T09:00:00.000Z',
    });
    expect([...out.files.keys()].sort()).toEqual(['backbone.onnx', 'head.json', 'manifest.json']);
    const loaded = await loadBundle({
      label: 'memory',
      read: async (name) => out.files.get(name) ?? Promise.reject(new Error(`no ${name}`)),
    });
    expect(loaded.backbone).toEqual(source.backbone);
    expect(flattenParams(loaded.head)).toEqual(flattenParams(result.head));
    const m = parseManifest(new TextDecoder().decode(out.files.get('manifest.json')));
    expect(m).toMatchObject({
      id: 'tiny-qresnet-here',
      threshold: result.threshold,
      files: { 'backbone.onnx': source.manifest.files['backbone.onnx'] },
    });
    expect(m.reference).toBeUndefined();
    expect(m.calibration).toEqual(result.calibration);
    expect(m.adapted).toMatchObject({
      from: {
        id: 'tiny-qresnet',
        name: source.manifest.name,
        manifest_sha256: createHash('sha256').update(manifestBytes).digest('hex'),
      },
      date: '2026-12-07T09:00:00.000Z',
      scans: { healthy: 4, TSC: 4 },
      cross_validation: 'leave-one-out (8 folds)',
      epochs: result.epochs,
      metrics: {
        before: { auc: result.before.auc, threshold: 0.5 },
        after: { auc: result.after.auc, acc: result.after.acc, threshold: result.threshold },
      },
      scans_left_machine: false,
    });
    expect(m.limitations.at(-1)).toMatch(/^Head fine-tuned on 8 local scans \(4 healthy, 4 TSC\)/);
    expect(() => validateManifest({ ...m, adapted: { ...m.adapted, scans_left_machine: true } })).toThrow(
      /adapted\.scans_left_machine: expected false/,
    );
    expect(() => validateManifest({ ...m, adapted: { ...m.adapted, scans: { healthy: 4 } } })).toThrow(
      /adapted\.scans\.TSC/,
    );
  });

  it("keeps the OOD model and the real-scan record, marked as the source model's", async () => {
    const source = await loadBundle(dirSource(SOURCE));
    const ood = {
      method: 'mahalanobis' as const,
      mean: Array(32).fill(0),
      whitening: [Array(32).fill(1)],
      threshold: 2,
      validation_pass_rate: 0.95,
      fitted_on: 'test',
    };
    const real_scans = {
      measured_on: '19 real FLAIR',
      results: [{ what: 'called TSC', n: 17, of: 19 }],
      unmeasured: 'no real TSC',
      fails: ['TSC called on 17 of 19'],
    };
    const manifest = { ...source.manifest, ood, real_scans };
    const scans = site(6, 2, 0.6, 32).map((s) => ({
      ...s,
      label: manifest.classes[CLASSES.indexOf(s.label as (typeof CLASSES)[number])],
    }));
    const result = adaptHead({ head: source.head, classes: manifest.classes, threshold: 0.5 }, scans, kernel, {
      epochs: 3,
    });
    const m = (
      await adaptedBundle({ manifest, manifestBytes: new Uint8Array(1), backbone: source.backbone }, result, {
        id: 'x',
        date: '2026-12-07',
      })
    ).manifest;
    expect(m.ood).toEqual(ood);
    expect(m.real_scans).toEqual({ ...real_scans, measured_on: 'the source model tiny-qresnet: 19 real FLAIR' });
  });
});

describe('caveats: the guard checks adaptation does not change', () => {
  const scans = site(6, 4);
  const ood = {
    method: 'mahalanobis' as const,
    mean: Array(6).fill(0.5),
    whitening: Array.from({ length: 6 }, (_, i) => Array.from({ length: 6 }, (_, j) => (i === j ? 1 : 0))),
    threshold: 1,
    validation_pass_rate: 0.95,
    fitted_on: 'test',
  };

  it('names the scans the OOD check will still withhold, and a failed real-scan record', () => {
    const far = scans.map((s, i) => (i === 1 ? { ...s, features: new Float32Array(6).fill(3) } : s));
    const real_scans = {
      measured_on: 'test',
      results: [],
      unmeasured: 'test',
      fails: ['real MS FLAIR called MS: 1 of 9'],
    };
    const c = adaptationCaveats({ id: 'm0', ood, real_scans }, far);
    expect(c).toHaveLength(2);
    expect(c[0]).toMatch(
      /^m0 fails its checks on real scans \(real MS FLAIR called MS: 1 of 9\); the adapted model keeps that record/,
    );
    expect(c[1]).toMatch(/^1 of 6 scans are unlike the model's training scans \(OOD score above 1\.000: scan-1\)/);
  });

  it('says nothing for a model without those checks, or scans inside its distribution', () => {
    expect(adaptationCaveats({ id: 'm0' }, scans)).toEqual([]);
    expect(adaptationCaveats({ id: 'm0', ood: { ...ood, threshold: 10 } }, scans)).toEqual([]);
  });
});
