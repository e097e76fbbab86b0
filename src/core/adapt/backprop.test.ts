// The fine-tuning gradient of whole heads (dense by hand, quantum by the WASM kernel's adjoint pass)
// against central finite differences and against torch autograd on the same heads
// (fixtures/adapt/torch-head-grad.json, written by `python3 -m training.fixtures adapt`).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatHead, parseHead, type HeadSpec } from '../head/spec.ts';
import { createSimulator, type QuantumKernel } from '../quantum/simulator.ts';
import { testEngine } from '../quantum/testing/helpers.ts';
import { headNet, lossAndGrad } from './backprop.ts';
import { flattenParams, withParams } from './params.ts';

interface TorchCase {
  name: string;
  shipped: unknown;
  head: unknown;
  features: number[][];
  labels: number[];
  l2: number;
  loss: number;
  ce: number;
  probabilities: number[];
  grad: number[];
}

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../fixtures/adapt/torch-head-grad.json', import.meta.url)), 'utf8'),
) as { cases: TorchCase[] };
const head = (doc: unknown): HeadSpec => parseHead(JSON.stringify(doc));

let kernel: QuantumKernel;
beforeAll(async () => {
  kernel = createSimulator(await testEngine());
});

function setup(c: TorchCase) {
  const spec = head(c.head);
  const net = headNet(spec, kernel);
  const x = Float64Array.from(c.features.flat());
  const y = Uint8Array.from(c.labels);
  const anchor = { theta0: flattenParams(head(c.shipped)), l2: c.l2 };
  return { net, theta: flattenParams(spec), x, y, anchor };
}

describe('fine-tuning gradient of the whole head', () => {
  it('covers dense activations, three circuit families (amplitude embedding included) and a classical head', () => {
    expect(fixture.cases.map((c) => c.name)).toEqual(['paper-a', 'angle-ring', 'amplitude', 'classical']);
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))(
    '%s: loss, probabilities and ∂loss/∂θ equal torch autograd (float64)',
    (_, c) => {
      const { net, theta, x, y, anchor } = setup(c);
      const r = lossAndGrad(net, theta, x, y, anchor);
      expect(r.grad).toHaveLength(c.grad.length);
      // Both sides compute in float64 (torch complex128 for the circuits): agreement is at rounding
      // level, far inside issue 22's 1e-4.
      expect(Math.abs(r.loss - c.loss)).toBeLessThan(1e-10);
      expect(Math.abs(r.ce - c.ce)).toBeLessThan(1e-10);
      r.probabilities.forEach((p, b) => expect(Math.abs(p - c.probabilities[b])).toBeLessThan(1e-10));
      r.grad.forEach((g, k) => expect(Math.abs(g - c.grad[k]), `θ[${k}]`).toBeLessThan(1e-9));
    },
  );

  it.each(fixture.cases.map((c) => [c.name, c] as const))(
    '%s: ∂loss/∂θ equals central finite differences within 1e-6',
    (_, c) => {
      const { net, theta, x, y, anchor } = setup(c);
      const g = lossAndGrad(net, theta, x, y, anchor).grad;
      // Central difference error ≤ h²/6·|f'''| (truncation) + k·ε·|f|/h (rounding; ε = 2.2e-16, k a few
      // hundred operations at most). With h = 1e-5 and |f| ≈ 1: rounding ≤ ~1e-9, truncation 1.7e-11·|f'''|,
      // so 1e-6 holds while |f'''| < ~5e4, two orders above these heads' third derivatives.
      const h = 1e-5;
      const loss = (t: Float64Array): number => lossAndGrad(net, t, x, y, anchor).loss;
      theta.forEach((_, k) => {
        const up = theta.slice();
        up[k] += h;
        const dn = theta.slice();
        dn[k] -= h;
        expect(Math.abs(g[k] - (loss(up) - loss(dn)) / (2 * h)), `θ[${k}]`).toBeLessThan(1e-6);
      });
    },
  );

  it('the L2 term pulls towards the shipped parameters: zero at θ₀, 2·l2·(θ − θ₀) elsewhere', () => {
    const c = fixture.cases[0];
    const { net, theta, x, y, anchor } = setup(c);
    const free = lossAndGrad(net, theta, x, y, { theta0: theta, l2: c.l2 });
    const pulled = lossAndGrad(net, theta, x, y, anchor);
    expect(free.loss).toBeCloseTo(free.ce, 14);
    pulled.grad.forEach((g, k) => expect(g - free.grad[k]).toBeCloseTo(2 * c.l2 * (theta[k] - anchor.theta0[k]), 12));
  });
});

describe('head parameters', () => {
  it('flatten, rebuild and head.json round-trip', () => {
    const spec = head(fixture.cases[1].head);
    const theta = flattenParams(spec);
    expect(theta).toHaveLength(fixture.cases[1].grad.length);
    const moved = theta.map((v, k) => v + k * 1e-3);
    const again = parseHead(formatHead(withParams(spec, moved)));
    expect(flattenParams(again)).toEqual(moved);
    expect(again.layers.map((l) => l.type)).toEqual(spec.layers.map((l) => l.type));
    expect(() => withParams(spec, theta.subarray(1))).toThrow(/expected 56 numbers, got 55/);
  });

  it('a head with a quantum layer needs the kernel', () => {
    expect(() => headNet(head(fixture.cases[0].head), null)).toThrow(/needs the quantum kernel/);
  });
});
