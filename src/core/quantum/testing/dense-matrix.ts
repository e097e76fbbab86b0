/**
 * Dense-matrix reference simulator, written straight from the circuit definitions (Qiskit's
 * ZZFeatureMap and RealAmplitudes, PennyLane's embeddings and paper B's layers) and independent
 * of the kernel's builder and index loops: every gate becomes a full 2^n × 2^n matrix, outputs are
 * ⟨ψ|O|ψ⟩ with full observable matrices, and gradients come from the product rule
 * (dψ/da = U_N…U_{k+1}·U_k'·U_{k−1}…U_1·ψ0) with analytic dU/da, not from the adjoint method.
 * For tests and fixture generation (n ≤ 8); far too slow for anything else.
 */
import { type CMatrix, type Complex, c, cexp, matmul } from '../complex.ts';
import { gateByName } from '../gates.ts';
import type { CircuitSpec, Entanglement, Layer } from '../spec.ts';

/** One gate occurrence: its small matrix and derivative as functions of its angle, and how the angle depends on x and w. */
export interface DenseStep {
  qubits: number[];
  matrix(a: number): CMatrix;
  deriv?(a: number): CMatrix;
  angle: number;
  /** ∂angle/∂x_i and ∂angle/∂w_j. */
  dx: [number, number][];
  dw: [number, number][];
}

const SQ = Math.SQRT1_2;
const I2 = (): CMatrix => [
  [c(1), c(0)],
  [c(0), c(1)],
];
const H: CMatrix = [
  [c(SQ), c(SQ)],
  [c(SQ), c(-SQ)],
];
/** CX with the control as the first operand: basis index b(control) + 2·b(target). */
const CX: CMatrix = [
  [c(1), c(0), c(0), c(0)],
  [c(0), c(0), c(0), c(1)],
  [c(0), c(0), c(1), c(0)],
  [c(0), c(1), c(0), c(0)],
];
const RX = (t: number): CMatrix => [
  [c(Math.cos(t / 2)), c(0, -Math.sin(t / 2))],
  [c(0, -Math.sin(t / 2)), c(Math.cos(t / 2))],
];
const dRX = (t: number): CMatrix => [
  [c(-Math.sin(t / 2) / 2), c(0, -Math.cos(t / 2) / 2)],
  [c(0, -Math.cos(t / 2) / 2), c(-Math.sin(t / 2) / 2)],
];
const RY = (t: number): CMatrix => [
  [c(Math.cos(t / 2)), c(-Math.sin(t / 2))],
  [c(Math.sin(t / 2)), c(Math.cos(t / 2))],
];
const dRY = (t: number): CMatrix => [
  [c(-Math.sin(t / 2) / 2), c(-Math.cos(t / 2) / 2)],
  [c(Math.cos(t / 2) / 2), c(-Math.sin(t / 2) / 2)],
];
const RZ = (t: number): CMatrix => [
  [cexp(-t / 2), c(0)],
  [c(0), cexp(t / 2)],
];
const dRZ = (t: number): CMatrix => [
  [[-Math.sin(-t / 2) * -0.5, Math.cos(-t / 2) * -0.5], c(0)],
  [c(0), [-Math.sin(t / 2) * 0.5, Math.cos(t / 2) * 0.5]],
];
const P = (l: number): CMatrix => [
  [c(1), c(0)],
  [c(0), cexp(l)],
];
const dP = (l: number): CMatrix => [
  [c(0), c(0)],
  [c(0), [-Math.sin(l), Math.cos(l)]],
];
const ROTATION = { rx: [RX, dRX], ry: [RY, dRY], rz: [RZ, dRZ], p: [P, dP] } as const;

/** Qiskit's entanglement lists, written out independently of builder.ts. */
function pairs(kind: Entanglement, n: number): [number, number][] {
  const out: [number, number][] = [];
  if (kind === 'full') for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out.push([i, j]);
  if (kind === 'linear') for (let i = 0; i + 1 < n; i++) out.push([i, i + 1]);
  if (kind === 'reverse_linear') for (let i = n - 2; i >= 0; i--) out.push([i, i + 1]);
  if (kind === 'circular') {
    if (n > 2) out.push([n - 1, 0]);
    for (let i = 0; i + 1 < n; i++) out.push([i, i + 1]);
  }
  return out;
}

const fixed = (qubits: number[], m: CMatrix): DenseStep => ({ qubits, matrix: () => m, angle: 0, dx: [], dw: [] });
const rot = (
  name: keyof typeof ROTATION,
  q: number,
  angle: number,
  dx: [number, number][],
  dw: [number, number][],
): DenseStep => ({ qubits: [q], matrix: ROTATION[name][0], deriv: ROTATION[name][1], angle, dx, dw });

/** The gate steps of one layer, consuming x from xo and w from wo; returns the counts consumed. */
function layerSteps(
  l: Layer,
  n: number,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  xo: number,
  wo: number,
  steps: DenseStep[],
): { nx: number; nw: number } {
  let wi = wo;
  const nextW = (): [number, [number, number][]] => {
    const j = wi++;
    return [w[j], [[j, 1]]];
  };
  const ry = (q: number): void => {
    const [a, dw] = nextW();
    steps.push(rot('ry', q, a, [], dw));
  };
  const named = (g: 'rx' | 'ry' | 'rz', q: number): void => {
    const [a, dw] = nextW();
    steps.push(rot(g, q, a, [], dw));
  };
  switch (l.family) {
    case 'zz_feature_map': {
      const al = l.alpha;
      for (let r = 0; r < l.reps; r++) {
        for (let q = 0; q < n; q++) steps.push(fixed([q], H));
        for (let q = 0; q < n; q++) steps.push(rot('p', q, al * x[xo + q], [[xo + q, al]], []));
        for (const [i, j] of pairs(l.entanglement, n)) {
          const xi = x[xo + i];
          const xj = x[xo + j];
          steps.push(fixed([i, j], CX));
          steps.push(
            rot(
              'p',
              j,
              al * (Math.PI - xi) * (Math.PI - xj),
              [
                [xo + i, -al * (Math.PI - xj)],
                [xo + j, -al * (Math.PI - xi)],
              ],
              [],
            ),
          );
          steps.push(fixed([i, j], CX));
        }
      }
      return { nx: n, nw: 0 };
    }
    case 'angle': {
      const g = ({ X: 'rx', Y: 'ry', Z: 'rz' } as const)[l.rotation];
      for (let q = 0; q < n; q++) steps.push(rot(g, q, x[xo + q], [[xo + q, 1]], []));
      return { nx: n, nw: 0 };
    }
    case 'amplitude':
      return { nx: l.n_features, nw: 0 };
    case 'real_amplitudes': {
      for (let r = 0; r < l.reps; r++) {
        for (let q = 0; q < n; q++) ry(q);
        for (const [i, j] of pairs(l.entanglement, n)) steps.push(fixed([i, j], CX));
      }
      if (!l.skip_final_rotation_layer) for (let q = 0; q < n; q++) ry(q);
      return { nx: 0, nw: wi - wo };
    }
    case 'rot_cnot':
      for (let r = 0; r < l.layers; r++) {
        for (let q = 0; q < n; q++) {
          named('rz', q);
          named('ry', q);
          named('rz', q);
        }
        for (let i = 0; i + 1 < n; i++) steps.push(fixed([i, i + 1], CX));
      }
      return { nx: 0, nw: wi - wo };
    case 'rxyz_ring':
      for (let r = 0; r < l.layers; r++) {
        for (let q = 0; q < n; q++) {
          named('rx', q);
          named('ry', q);
          named('rz', q);
        }
        if (n > 1) for (let j = 0; j < n; j++) steps.push(fixed([j, (j + 1) % n], CX));
      }
      return { nx: 0, nw: wi - wo };
    case 'cnot_rz':
      for (let r = 0; r < l.layers; r++) {
        for (let i = 0; i + 1 < n; i++) steps.push(fixed([i, i + 1], CX));
        for (let q = 0; q < n; q++) named('rz', q);
      }
      return { nx: 0, nw: wi - wo };
    case 'gates': {
      let xi = xo;
      for (const op of l.ops) {
        const vals: [number, [number, number][], [number, number][]][] = op.params.map((p) => {
          if (p === 'x') {
            const i = xi++;
            return [x[i], [[i, 1]], []];
          }
          if (p === 'w') {
            const j = wi++;
            return [w[j], [], [[j, 1]]];
          }
          return [p, [], []];
        });
        if (op.gate === 'rot') {
          (['rz', 'ry', 'rz'] as const).forEach((g, k) =>
            steps.push(rot(g, op.qubits[0], vals[k][0], vals[k][1], vals[k][2])),
          );
        } else if (op.gate in ROTATION) {
          steps.push(rot(op.gate as keyof typeof ROTATION, op.qubits[0], vals[0][0], vals[0][1], vals[0][2]));
        } else if (op.gate === 'zz') {
          const [i, j] = op.qubits;
          steps.push(fixed([i, j], CX), rot('p', j, vals[0][0], vals[0][1], vals[0][2]), fixed([i, j], CX));
        } else {
          const def = gateByName(op.gate);
          if (!def || def.nParams) throw new Error(`dense: unsupported gate ${op.gate}`);
          steps.push(fixed(op.qubits, def.matrix([])));
        }
      }
      return { nx: xi - xo, nw: wi - wo };
    }
  }
}

/** All steps of a spec for one sample. */
export function denseSteps(spec: CircuitSpec, x: ArrayLike<number>, w: ArrayLike<number>): DenseStep[] {
  const steps: DenseStep[] = [];
  let xo = 0;
  let wo = 0;
  for (const l of spec.layers) {
    const used = layerSteps(l, spec.n_qubits, x, w, xo, wo, steps);
    xo += used.nx;
    wo += used.nw;
  }
  return steps;
}

/** Embeds a gate matrix on `qubits` (basis index b(q0) + 2·b(q1)) into the full 2^n space. */
export function embed(m: CMatrix, qubits: readonly number[], n: number): CMatrix {
  const dim = 1 << n;
  const mask = qubits.reduce((a, q) => a | (1 << q), 0);
  const sub = (k: number): number => qubits.reduce((a, q, i) => a | (((k >> q) & 1) << i), 0);
  return Array.from({ length: dim }, (_, r) =>
    Array.from({ length: dim }, (_, col) => ((r & ~mask) === (col & ~mask) ? m[sub(r)][sub(col)] : c(0))),
  );
}

/** Full-space matrix-vector product. */
export function matvec(m: CMatrix, v: readonly Complex[]): Complex[] {
  return m.map((row) => {
    let re = 0;
    let im = 0;
    row.forEach((a, j) => {
      re += a[0] * v[j][0] - a[1] * v[j][1];
      im += a[0] * v[j][1] + a[1] * v[j][0];
    });
    return [re, im] as Complex;
  });
}

/** The circuit's full unitary as the product of its gates' full matrices. */
export function denseUnitary(spec: CircuitSpec, x: ArrayLike<number>, w: ArrayLike<number>): CMatrix {
  const n = spec.n_qubits;
  let u: CMatrix = Array.from({ length: 1 << n }, (_, i) =>
    Array.from({ length: 1 << n }, (_, j) => c(i === j ? 1 : 0)),
  );
  for (const s of denseSteps(spec, x, w)) u = matmul(embed(s.matrix(s.angle), s.qubits, n), u);
  return u;
}

/** The readout's observables as full matrices (probs: the basis projectors). */
export function observables(spec: CircuitSpec): CMatrix[] {
  const n = spec.n_qubits;
  const Z: CMatrix = [
    [c(1), c(0)],
    [c(0), c(-1)],
  ];
  const X: CMatrix = [
    [c(0), c(1)],
    [c(1), c(0)],
  ];
  const zs = Array.from({ length: n }, (_, q) => embed(Z, [q], n));
  const xs = Array.from({ length: n }, (_, q) => embed(X, [q], n));
  const dim = 1 << n;
  switch (spec.readout) {
    case 'z':
      return zs;
    case 'x':
      return xs;
    case 'xz':
      return [...xs, ...zs];
    case 'parity':
      return [zs.reduce((a, b) => matmul(a, b), embed(I2(), [0], n))];
    case 'probs':
      return Array.from({ length: dim }, (_, k) =>
        Array.from({ length: dim }, (_, i) => Array.from({ length: dim }, (_, j) => c(i === k && j === k ? 1 : 0))),
      );
  }
}

/** Initial state: |0…0⟩, or the amplitude embedding of x, with the Jacobian dψ0/dx for the latter. */
function initialState(spec: CircuitSpec, x: ArrayLike<number>): { psi0: Complex[]; jac: Map<number, number[]> } {
  const dim = 1 << spec.n_qubits;
  const l = spec.layers[0];
  const jac = new Map<number, number[]>();
  if (l.family !== 'amplitude') return { psi0: Array.from({ length: dim }, (_, k) => c(k === 0 ? 1 : 0)), jac };
  const p = Array.from({ length: dim }, (_, k) => (k < l.n_features ? x[k] : l.pad_with));
  const norm = l.normalize ? Math.hypot(...p) : 1;
  const v = p.map((a) => a / norm);
  for (let i = 0; i < l.n_features; i++) {
    // ∂v_k/∂p_i = (δ_ki − v_k·v_i)/‖p‖ when normalising
    jac.set(
      i,
      v.map((vk, k) => (l.normalize ? ((k === i ? 1 : 0) - vk * v[i]) / norm : k === i ? 1 : 0)),
    );
  }
  return { psi0: v.map((a) => c(a)), jac };
}

const expect = (o: CMatrix, a: readonly Complex[], b: readonly Complex[]): number => {
  const ob = matvec(o, b);
  return a.reduce((s, ai, k) => s + ai[0] * ob[k][0] + ai[1] * ob[k][1], 0);
};

/** Outputs and gradients of L = Σ outWeights·outputs for one sample, by dense products and the product rule. */
export function denseEvaluate(
  spec: CircuitSpec,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  outWeights: ArrayLike<number>,
): { outputs: number[]; gradX: number[]; gradWeights: number[]; state: Complex[] } {
  const n = spec.n_qubits;
  const steps = denseSteps(spec, x, w);
  const full = steps.map((s) => embed(s.matrix(s.angle), s.qubits, n));
  const { psi0, jac } = initialState(spec, x);
  const states = [psi0];
  for (const m of full) states.push(matvec(m, states[states.length - 1]));
  const psi = states[states.length - 1];
  const obs = observables(spec);
  const outputs = obs.map((o) => expect(o, psi, psi));
  // H_w = Σ w_k O_k; dL/dψ-direction t: 2·Re⟨ψ|H_w|t⟩
  const hw = obs.reduce<CMatrix>(
    (acc, o, k) =>
      acc.map((row, i) =>
        row.map((a, j) => [a[0] + outWeights[k] * o[i][j][0], a[1] + outWeights[k] * o[i][j][1]] as Complex),
      ),
    obs[0].map((row) => row.map(() => c(0))),
  );
  const dL = (t: Complex[]): number => 2 * expect(hw, psi, t);
  const gradX = new Array<number>(x.length).fill(0);
  const gradWeights = new Array<number>(w.length).fill(0);
  steps.forEach((s, k) => {
    if (!s.deriv) return;
    let t = matvec(embed(s.deriv(s.angle), s.qubits, n), states[k]);
    for (let j = k + 1; j < full.length; j++) t = matvec(full[j], t);
    const g = dL(t);
    for (const [i, d] of s.dx) gradX[i] += g * d;
    for (const [j, d] of s.dw) gradWeights[j] += g * d;
  });
  for (const [i, dv] of jac) {
    let t: Complex[] = dv.map((a) => c(a));
    for (const m of full) t = matvec(m, t);
    gradX[i] += dL(t);
  }
  return { outputs, gradX, gradWeights, state: psi };
}
