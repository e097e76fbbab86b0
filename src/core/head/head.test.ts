import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { activate, activateBackward } from './dense.ts';
import {
  ACTIVATIONS,
  createHead,
  HeadError,
  parseHead,
  positiveProbability,
  type QuantumEngineFactory,
} from './index.ts';

const noQuantum: QuantumEngineFactory = () => Promise.reject(new Error('unexpected quantum layer'));

/** Central finite difference of f at x along every coordinate. */
function numericGrad(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  return x.map((_, i) => {
    const a = x.slice(),
      b = x.slice();
    a[i] += h;
    b[i] -= h;
    return (f(a) - f(b)) / (2 * h);
  });
}

describe('dense activations', () => {
  const z = Float64Array.of(-1.3, 0.2, 0.9, 2.1);
  const gy = Float64Array.of(0.5, -1, 2, 0.25);
  it.each(ACTIVATIONS)('%s backward matches finite differences', (kind) => {
    const loss = (v: Float64Array) => activate(kind, v).reduce((s, y, i) => s + y * gy[i], 0);
    const analytic = activateBackward(kind, z, gy);
    const numeric = numericGrad(loss, z);
    analytic.forEach((g, i) => expect(g).toBeCloseTo(numeric[i], 6));
  });

  it('sigmoid_l2 outputs a unit vector', () => {
    expect(Math.hypot(...activate('sigmoid_l2', z))).toBeCloseTo(1, 12);
  });
});

describe('head', () => {
  const spec = parseHead(
    JSON.stringify({
      format: 'qumri-head/1',
      layers: [
        {
          type: 'dense',
          in: 3,
          out: 4,
          activation: 'tanh',
          weight: [
            [1, -2, 0.5],
            [0.3, 0.1, -1],
            [2, 1, 1],
            [-0.5, 0.7, 0.2],
          ],
          bias: [0.1, -0.2, 0, 0.3],
        },
        { type: 'dense', in: 4, out: 1, activation: 'sigmoid', weight: [[0.4, -1.1, 0.8, 0.6]], bias: [-0.1] },
        { type: 'pair_logits' },
      ],
      output: 'logits',
    }),
  );

  it('backward gives the gradient of the log-odds w.r.t. the features', async () => {
    const head = await createHead(spec, noQuantum);
    const x = Float64Array.of(0.3, -0.7, 1.2);
    const trace = await head.forward(x);
    const g = await head.backward(trace, [-1, 1]);
    const fd = await Promise.all(
      [...x].map(async (_, i) => {
        const a = x.slice(),
          b = x.slice();
        a[i] += 1e-6;
        b[i] -= 1e-6;
        const [ta, tb] = await Promise.all([head.forward(a), head.forward(b)]);
        return (ta.logits[1] - ta.logits[0] - (tb.logits[1] - tb.logits[0])) / 2e-6;
      }),
    );
    g.forEach((v, i) => expect(v).toBeCloseTo(fd[i], 6));
  });

  it('pair_logits gives [x, 1 − x]', async () => {
    const head = await createHead(spec, noQuantum);
    const t = await head.forward([0, 0, 0]);
    expect(t.logits[0] + t.logits[1]).toBeCloseTo(1, 12);
    expect(positiveProbability(t.logits)).toBeCloseTo(1 / (1 + Math.exp(t.logits[0] - t.logits[1])), 12);
  });

  it('rejects widths that do not chain', async () => {
    const bad = parseHead(
      JSON.stringify({
        format: 'qumri-head/1',
        layers: [
          {
            type: 'dense',
            in: 3,
            out: 3,
            activation: 'none',
            weight: [
              [1, 0, 0],
              [0, 1, 0],
              [0, 0, 1],
            ],
            bias: [0, 0, 0],
          },
        ],
      }),
    );
    await expect(createHead(bad, noQuantum)).rejects.toThrow(/ends with 3 outputs, expected 2 logits/);
  });

  it.each([
    ['{"format": "qumri-head/1", "layers": [{"type": "conv"}]}', /unknown layer type "conv"/],
    [
      '{"format": "qumri-head/1", "layers": [{"type": "dense", "in": 2, "out": 1, "activation": "gelu", "weight": [[1, 2]], "bias": [0]}]}',
      /unknown activation "gelu"/,
    ],
    [
      '{"format": "qumri-head/1", "layers": [{"type": "dense", "in": 2, "out": 1, "weight": [[1]], "bias": [0]}]}',
      /weight\[0\]: expected 2 finite numbers, got 1 entries/,
    ],
    ['[1, 2', /not valid JSON/],
  ])('names the problem in %s', (text, message) => {
    expect(() => parseHead(text)).toThrow(HeadError);
    expect(() => parseHead(text)).toThrow(message);
  });
});

describe('classical reference bundles', () => {
  it.each(['../../../fixtures/bundles/tiny-c/', '../../../fixtures/bundles/tiny-resnet/'].map((p) => [p]))(
    'head on torch features reproduces torch logits (%s)',
    async (rel) => {
      const dir = fileURLToPath(new URL(rel.startsWith('./') ? `../bundle/${rel.slice(2)}` : rel, import.meta.url));
      const head = await createHead(parseHead(readFileSync(`${dir}head.json`, 'utf8')), noQuantum);
      const ref = JSON.parse(readFileSync(`${dir}reference.json`, 'utf8')) as {
        inputs: { features: number[]; logits: number[]; probability: number }[];
      };
      for (const r of ref.inputs) {
        const t = await head.forward(r.features);
        expect(t.logits[0]).toBeCloseTo(r.logits[0], 5);
        expect(t.logits[1]).toBeCloseTo(r.logits[1], 5);
        expect(Math.abs(positiveProbability(t.logits) - r.probability)).toBeLessThan(1e-5);
      }
    },
  );
});
