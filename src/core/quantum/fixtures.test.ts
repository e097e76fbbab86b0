// Cross-check fixtures: every fixtures/circuits/*.json reproduced by the WASM kernel and
// the TypeScript engine to ≤ 1e-10. Two layouts: ours (dense reference; outputs and the gradients
// of L = Σ out_weights·outputs) and the training pipeline's torch-*.json
// (`qumri-circuit-fixture/1`: cases with full Jacobians d outputs / d x and d outputs / d weights).
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { referenceEngine } from './reference.ts';
import { createSimulator } from './simulator.ts';
import { parseCircuitSpec } from './spec.ts';
import { maxAbsDiff, testEngine } from './testing/helpers.ts';

const dir = fileURLToPath(new URL('../../../fixtures/circuits/', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

interface Fixture {
  name: string;
  spec: unknown;
  x: number[];
  weights: number[];
  out_weights: number[];
  outputs: number[];
  grad_x: number[];
  grad_weights: number[];
}
interface TorchCase {
  name: string;
  circuit: Record<string, unknown>;
  x: number[];
  weights: number[];
  outputs: number[];
  jacobian_x: number[][];
  jacobian_weights: number[][];
}

/**
 * training/quantum.py lets an amplitude layer without `n_features` take as many features as x
 * has (≤ 2^n); our contract fixes the count with `n_features` (default 2^n), so make it explicit.
 */
function withFeatureCount(circuit: Record<string, unknown>, nx: number): unknown {
  const layers = circuit.layers as Record<string, unknown>[];
  const first = layers[0];
  if (first?.family !== 'amplitude' || 'n_features' in first) return circuit;
  return { ...circuit, layers: [{ ...first, n_features: nx }, ...layers.slice(1)] };
}

async function checkTorchCase(c: TorchCase): Promise<void> {
  const spec = parseCircuitSpec(withFeatureCount(c.circuit, c.x.length));
  const x = Float64Array.from(c.x);
  const w = Float64Array.from(c.weights);
  for (const sim of [createSimulator(await testEngine()), createSimulator(referenceEngine)]) {
    c.outputs.forEach((_, o) => {
      const unit = Float64Array.from(c.outputs, (_v, k) => (k === o ? 1 : 0));
      const r = sim.backward(spec, x, w, unit);
      expect(maxAbsDiff(r.outputs, c.outputs), `${c.name} ${sim.engine} outputs`).toBeLessThanOrEqual(1e-10);
      expect(maxAbsDiff(r.gradX, c.jacobian_x[o]), `${c.name} ${sim.engine} d out[${o}]/dx`).toBeLessThanOrEqual(1e-10);
      expect(
        maxAbsDiff(r.gradWeights, c.jacobian_weights[o]),
        `${c.name} ${sim.engine} d out[${o}]/dw`,
      ).toBeLessThanOrEqual(1e-10);
    });
  }
}

describe('circuit fixtures', () => {
  it('exist, including one per family of ours', () => {
    expect(files.length).toBeGreaterThanOrEqual(12);
  });

  for (const file of files) {
    it(file, async () => {
      const json = JSON.parse(readFileSync(dir + file, 'utf8')) as Fixture | { format: string; cases: TorchCase[] };
      if ('cases' in json) {
        expect(json.cases.length).toBeGreaterThan(0);
        for (const c of json.cases) await checkTorchCase(c);
        return;
      }
      const f = json;
      const spec = parseCircuitSpec(f.spec);
      for (const sim of [createSimulator(await testEngine()), createSimulator(referenceEngine)]) {
        const r = sim.backward(
          spec,
          Float64Array.from(f.x),
          Float64Array.from(f.weights),
          Float64Array.from(f.out_weights),
        );
        expect(maxAbsDiff(r.outputs, f.outputs), `${sim.engine} outputs`).toBeLessThanOrEqual(1e-10);
        expect(maxAbsDiff(r.gradX, f.grad_x), `${sim.engine} grad_x`).toBeLessThanOrEqual(1e-10);
        expect(maxAbsDiff(r.gradWeights, f.grad_weights), `${sim.engine} grad_weights`).toBeLessThanOrEqual(1e-10);
      }
    });
  }
});
