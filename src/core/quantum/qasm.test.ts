// OpenQASM 3 export: the text parses back (with a tiny stdgates interpreter written here from
// the OpenQASM definitions) into a circuit whose probabilities equal the kernel's.
import { describe, expect, it } from 'vitest';
import { type CMatrix, type Complex, c, cexp } from './complex.ts';
import { embed, matvec } from './testing/dense-matrix.ts';
import { statePreparation, toQasm3 } from './qasm.ts';
import { createSimulator } from './simulator.ts';
import { circuitShape } from './spec.ts';
import { maxAbsDiff, rng, spec, testEngine } from './testing/helpers.ts';

const SQ = Math.SQRT1_2;
const ONE_QUBIT: Record<string, (a: number) => CMatrix> = {
  h: () => [
    [c(SQ), c(SQ)],
    [c(SQ), c(-SQ)],
  ],
  x: () => [
    [c(0), c(1)],
    [c(1), c(0)],
  ],
  y: () => [
    [c(0), c(0, -1)],
    [c(0, 1), c(0)],
  ],
  z: () => [
    [c(1), c(0)],
    [c(0), c(-1)],
  ],
  s: () => [
    [c(1), c(0)],
    [c(0), c(0, 1)],
  ],
  t: () => [
    [c(1), c(0)],
    [c(0), cexp(Math.PI / 4)],
  ],
  p: (a) => [
    [c(1), c(0)],
    [c(0), cexp(a)],
  ],
  rx: (a) => [
    [c(Math.cos(a / 2)), c(0, -Math.sin(a / 2))],
    [c(0, -Math.sin(a / 2)), c(Math.cos(a / 2))],
  ],
  ry: (a) => [
    [c(Math.cos(a / 2)), c(-Math.sin(a / 2))],
    [c(Math.sin(a / 2)), c(Math.cos(a / 2))],
  ],
  rz: (a) => [
    [cexp(-a / 2), c(0)],
    [c(0), cexp(a / 2)],
  ],
};
const CXM: CMatrix = [
  [c(1), c(0), c(0), c(0)],
  [c(0), c(0), c(0), c(1)],
  [c(0), c(0), c(1), c(0)],
  [c(0), c(1), c(0), c(0)],
];

/** Probabilities of the measured register of a QASM 3 program (gates before `measure`). */
function runQasm(text: string): Float64Array {
  return Float64Array.from(runQasmState(text), (v) => v[0] * v[0] + v[1] * v[1]);
}

/** Final state of a QASM 3 program (gates before `measure`). */
function runQasmState(text: string): Complex[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('//'));
  expect(lines.slice(0, 2)).toEqual(['OPENQASM 3.0;', 'include "stdgates.inc";']);
  const n = Number(/^qubit\[(\d+)\] q;$/.exec(lines[2])![1]);
  let psi: Complex[] = Array.from({ length: 1 << n }, (_, k) => c(k === 0 ? 1 : 0));
  for (const line of lines.slice(4)) {
    if (line === 'c = measure q;') break;
    const m = /^(\w+)(?:\(([^)]*)\))? q\[(\d+)\](?:, q\[(\d+)\])?;$/.exec(line);
    if (!m) throw new Error(`unparsed QASM line: ${line}`);
    const [, name, arg, a, b] = m;
    const gate = name === 'cx' ? CXM : ONE_QUBIT[name]?.(Number(arg));
    if (!gate) throw new Error(`unknown gate in QASM: ${name}`);
    psi = matvec(embed(gate, b === undefined ? [Number(a)] : [Number(a), Number(b)], n), psi);
  }
  return psi;
}

describe('toQasm3', () => {
  const cases: [number, unknown[], string][] = [
    [2, [{ family: 'zz_feature_map' }, { family: 'real_amplitudes' }], 'parity'],
    [
      3,
      [
        { family: 'zz_feature_map', entanglement: 'circular' },
        { family: 'rot_cnot', layers: 2 },
      ],
      'z',
    ],
    [3, [{ family: 'angle', rotation: 'Y' }, { family: 'rxyz_ring' }], 'x'],
    [
      3,
      [
        { family: 'angle', rotation: 'Z' },
        { family: 'cnot_rz', layers: 2 },
        {
          family: 'gates',
          ops: [
            { gate: 's', qubits: [1] },
            { gate: 't', qubits: [2] },
          ],
        },
      ],
      'probs',
    ],
    [1, [{ family: 'amplitude' }, { family: 'rot_cnot' }], 'z'],
    [3, [{ family: 'amplitude' }, { family: 'rot_cnot', layers: 2 }], 'xz'],
    [4, [{ family: 'amplitude', n_features: 11, pad_with: -0.3 }, { family: 'rxyz_ring' }], 'probs'],
  ];
  for (const [n, layers, readout] of cases) {
    it(`${layers.map((l) => (l as { family: string }).family).join('+')} (${readout}) round-trips`, async () => {
      const sim = createSimulator(await testEngine());
      const s = spec(n, layers, readout);
      const rand = rng(4);
      const { nInputs, nWeights } = circuitShape(s);
      const x = Float64Array.from({ length: nInputs }, () => rand() * 3 - 1);
      const w = Float64Array.from({ length: nWeights }, () => rand() * 6 - 3);
      const text = toQasm3(s, x, w);
      const probs = runQasm(text);
      const want = readout === 'x' ? probsInXBasis(sim, s, x, w) : sim.probabilities(s, x, w);
      expect(maxAbsDiff(probs, want)).toBeLessThan(1e-12);
      expect(text.endsWith('c = measure q;\n')).toBe(true);
    });
  }

  it('prepares any signed real vector exactly (state, not just probabilities)', () => {
    const rand = rng(21);
    for (let n = 1; n <= 5; n++) {
      const v = Array.from({ length: 2 ** n }, () => rand() - 0.5);
      if (n === 3) v.fill(0, 0, 4);
      const norm = Math.hypot(...v);
      const text = [
        'OPENQASM 3.0;',
        'include "stdgates.inc";',
        `qubit[${n}] q;`,
        `bit[${n}] c;`,
        ...statePreparation(
          v.map((a) => a / norm),
          n,
        ),
        'c = measure q;',
      ].join('\n');
      const state = runQasmState(text);
      expect(
        maxAbsDiff(
          state.flatMap((a) => [a[0], a[1]]),
          v.flatMap((a) => [a / norm, 0]),
        ),
        `n=${n}`,
      ).toBeLessThan(1e-12);
    }
  });

  it('refuses bad values with clear errors', () => {
    const amp = spec(2, [{ family: 'amplitude' }, { family: 'rot_cnot' }], 'z');
    expect(() => toQasm3(amp, [0, 0, 0, 0], new Float64Array(6))).toThrow(/zero vector/);
    const head = spec(2, [{ family: 'zz_feature_map' }, { family: 'real_amplitudes' }]);
    expect(() => toQasm3(head, [0.1, NaN], new Float64Array(8))).toThrow(/x\[1\] is NaN/);
    expect(() => toQasm3(head, [0.1], new Float64Array(8))).toThrow(/x: expected 2 values, got 1/);
  });
});

/** Probabilities after an H on every qubit, via the kernel (what the exported X-basis listing measures). */
function probsInXBasis(
  sim: ReturnType<typeof createSimulator>,
  s: ReturnType<typeof spec>,
  x: Float64Array,
  w: Float64Array,
): Float64Array {
  const hs = Array.from({ length: s.n_qubits }, (_, q) => ({ gate: 'h', qubits: [q] }));
  return sim.probabilities(
    { ...s, layers: [...s.layers, { family: 'gates', ops: hs.map((h) => ({ ...h, params: [] })) }] },
    x,
    w,
  );
}
