// Tests generated from the gate table: every gate, n = 1..5, every qubit placement, on random
// states, for both engines (WASM and plain TypeScript) against the gate's dense matrix; U then U†;
// norm; and each one-parameter gate's adjoint derivative against central finite differences.
import { describe, expect, it } from 'vitest';
import { Gate, Readout } from '../../../kernel/assembly/codes.ts';
import { type CMatrix, c, cexp, dagger, identity, matmul, maxDiff } from './complex.ts';
import { embed, matvec } from './testing/dense-matrix.ts';
import { type Engine, packOps } from './engine.ts';
import { GATES, type GateDef, gateByName } from './gates.ts';
import { referenceEngine } from './reference.ts';
import { interleave, maxAbsDiff, randomState, rng, testEngine } from './testing/helpers.ts';

/** Every ordered tuple of `arity` distinct qubits out of n. */
function placements(n: number, arity: number): number[][] {
  const out: number[][] = [];
  for (let a = 0; a < n; a++) {
    if (arity === 1) out.push([a]);
    else for (let b = 0; b < n; b++) if (b !== a) out.push([a, b]);
  }
  return out;
}

function applyOnce(
  e: Engine,
  g: GateDef,
  qubits: number[],
  n: number,
  params: number[],
  init: Float64Array,
  inverse = false,
): Float64Array {
  const p = packOps(
    n,
    [{ gate: g.code, qubits: [qubits[0], qubits[1] ?? 0], slot: g.nParams ? 0 : -1, inverse }],
    g.nParams,
  );
  return e.forward(p, Float64Array.from(params), 1, init, Readout.STATE);
}

const norm2 = (s: Float64Array): number => s.reduce((a, v) => a + v * v, 0);

describe('gate table', () => {
  it('defines each kernel gate code once', () => {
    const codes = GATES.map((g) => g.code).sort((a, b) => a - b);
    expect(codes).toEqual(
      Object.values(Gate)
        .filter((v) => typeof v === 'number')
        .sort((a, b) => (a as number) - (b as number)),
    );
  });

  it('has unitary matrices and the documented identities', () => {
    const th = 0.731;
    for (const g of GATES) {
      const m = g.matrix(Array.from({ length: g.nParams }, (_, i) => th + i));
      expect(maxDiff(matmul(dagger(m), m), identity(2 ** g.arity)), g.name).toBeLessThan(1e-14);
    }
    const mat = (name: string, p: number[] = []): CMatrix => gateByName(name)!.matrix(p);
    const cx = mat('cx');
    const pOnB = embed(mat('p', [th]), [1], 2);
    expect(maxDiff(mat('zz', [th]), matmul(cx, matmul(pOnB, cx)))).toBeLessThan(1e-15);
    expect(maxDiff(mat('s'), mat('p', [Math.PI / 2]))).toBeLessThan(1e-15);
    expect(maxDiff(mat('t'), mat('p', [Math.PI / 4]))).toBeLessThan(1e-15);
    expect(
      maxDiff(mat('rot', [0.1, 0.2, 0.3]), matmul(mat('rz', [0.3]), matmul(mat('ry', [0.2]), mat('rz', [0.1])))),
    ).toBeLessThan(1e-15);
    expect(
      maxDiff(mat('rz', [th]), [
        [cexp(-th / 2), c(0)],
        [c(0), cexp(th / 2)],
      ]),
    ).toBeLessThan(1e-15);
  });

  it('generators give dU/dθ = i·s·G·U (finite differences)', () => {
    const h = 1e-6;
    for (const g of GATES.filter((d) => d.generator)) {
      const { matrix: G, scale } = g.generator!;
      const th = 0.4;
      const num = g
        .matrix([th + h])
        .map((row, i) =>
          row.map(
            (a, j) =>
              [(a[0] - g.matrix([th - h])[i][j][0]) / (2 * h), (a[1] - g.matrix([th - h])[i][j][1]) / (2 * h)] as const,
          ),
        );
      const gu = matmul(G, g.matrix([th]));
      const ana = gu.map((row) => row.map((a) => [-scale * a[1], scale * a[0]] as const));
      expect(maxDiff(num, ana), g.name).toBeLessThan(1e-9);
    }
  });

  for (const engineName of ['wasm', 'typescript']) {
    it(`${engineName}: every gate equals its dense matrix for n = 1..5 and every placement; U·U† = 1; norm kept`, async () => {
      const e = engineName === 'wasm' ? await testEngine() : referenceEngine;
      const rand = rng(11);
      let checked = 0;
      for (const g of GATES) {
        for (let n = g.arity; n <= 5; n++) {
          for (const qubits of placements(n, g.arity)) {
            const params = Array.from({ length: g.nParams }, () => 4 * Math.PI * rand() - 2 * Math.PI);
            const psi = randomState(n, rand);
            const init = interleave(psi);
            const got = applyOnce(e, g, qubits, n, params, init);
            const want = interleave(matvec(embed(g.matrix(params), qubits, n), psi));
            expect(maxAbsDiff(got, want), `${g.name} n=${n} on ${qubits}`).toBeLessThan(1e-12);
            expect(Math.abs(norm2(got) - 1)).toBeLessThan(1e-12);
            const back = applyOnce(e, g, qubits, n, params, got, true);
            expect(maxAbsDiff(back, init), `${g.name}† n=${n} on ${qubits}`).toBeLessThan(1e-12);
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThan(200);
    });

    it(`${engineName}: adjoint derivative of every parametric gate equals central differences, every placement`, async () => {
      const e = engineName === 'wasm' ? await testEngine() : referenceEngine;
      const rand = rng(12);
      for (const g of GATES.filter((d) => d.nParams > 0)) {
        for (let n = g.arity; n <= 4; n++) {
          for (const qubits of placements(n, g.arity)) {
            const init = interleave(randomState(n, rand));
            const params = Array.from({ length: g.nParams }, () => 2 * Math.PI * rand());
            const ow = Float64Array.from({ length: 2 * n }, () => rand() - 0.5);
            const p = packOps(n, [{ gate: g.code, qubits: [qubits[0], qubits[1] ?? 0], slot: 0 }], g.nParams);
            const loss = (a: number[]): number =>
              e.forward(p, Float64Array.from(a), 1, init, Readout.XZ).reduce((s, v, k) => s + v * ow[k], 0);
            const { gradAngles, gradInit } = e.adjoint(p, Float64Array.from(params), 1, init, Readout.XZ, ow);
            const h = 1e-5;
            params.forEach((_, k) => {
              const up = params.map((v, i) => (i === k ? v + h : v));
              const dn = params.map((v, i) => (i === k ? v - h : v));
              expect(
                Math.abs(gradAngles[k] - (loss(up) - loss(dn)) / (2 * h)),
                `${g.name} n=${n} on ${qubits} param ${k}`,
              ).toBeLessThan(1e-8);
            });
            // the adjoint state at the input is the gradient with respect to the initial amplitudes
            const j = Math.floor(rand() * init.length);
            const bump = (d: number): number => {
              const s = init.slice();
              s[j] += d;
              return e.forward(p, Float64Array.from(params), 1, s, Readout.XZ).reduce((a, v, k) => a + v * ow[k], 0);
            };
            expect(Math.abs(2 * gradInit![j] - (bump(h) - bump(-h)) / (2 * h))).toBeLessThan(1e-8);
          }
        }
      }
    });
  }
});
