/**
 * The gate table: the single source of truth for every gate the kernel implements (name, code,
 * arity, parameter count, matrix, generator, OpenQASM 3 spelling). The kernel's dispatch
 * (kernel/assembly/gates.ts) follows these codes; the tests are generated from this table.
 * Two-qubit matrices use the basis index b(q0) + 2·b(q1), q0 being the first operand
 * (the control of CX), so CX is [[1,0,0,0],[0,0,0,1],[0,0,1,0],[0,1,0,0]].
 */
import { Gate } from '../../../kernel/assembly/codes.ts';
import { type CMatrix, c, cexp, matmul } from './complex.ts';

export interface GateDef {
  name: string;
  code: Gate;
  arity: 1 | 2;
  nParams: 0 | 1 | 3;
  matrix(params: readonly number[]): CMatrix;
  /** U(θ) = exp(i·scale·θ·G) for one-parameter gates. */
  generator?: { matrix: CMatrix; scale: number };
  /** OpenQASM 3 lines for operands q0, q1 (stdgates.inc names only). */
  qasm(params: readonly number[], q: readonly string[]): string[];
}

const Z0 = c(0);
const ONE = c(1);
const SQ = Math.SQRT1_2;
const num = (v: number): string => {
  if (!Number.isFinite(v)) throw new Error(`gate parameter ${v} is not finite`);
  return String(v);
};
const diag2 = (a: readonly [number, number], b: readonly [number, number]): CMatrix => [
  [a, Z0],
  [Z0, b],
];
const phase = (l: number): CMatrix => diag2(ONE, cexp(l));
const rx = (t: number): CMatrix => [
  [c(Math.cos(t / 2)), c(0, -Math.sin(t / 2))],
  [c(0, -Math.sin(t / 2)), c(Math.cos(t / 2))],
];
const ry = (t: number): CMatrix => [
  [c(Math.cos(t / 2)), c(-Math.sin(t / 2))],
  [c(Math.sin(t / 2)), c(Math.cos(t / 2))],
];
const rz = (t: number): CMatrix => diag2(cexp(-t / 2), cexp(t / 2));
const perm4 = (p: readonly number[]): CMatrix =>
  Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, j) => c(p[j] === i ? 1 : 0)));
const diag4 = (d: readonly (readonly [number, number])[]): CMatrix =>
  Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, j) => (i === j ? d[i] : Z0)));
const one = (name: string) => (p: readonly number[], q: readonly string[]) => [
  `${name}${p.length ? `(${p.map(num).join(', ')})` : ''} ${q[0]};`,
];

const PX: CMatrix = [
  [Z0, ONE],
  [ONE, Z0],
];
const PY: CMatrix = [
  [Z0, c(0, -1)],
  [c(0, 1), Z0],
];
const PZ: CMatrix = diag2(ONE, c(-1));

export const GATES: readonly GateDef[] = [
  {
    name: 'h',
    code: Gate.H,
    arity: 1,
    nParams: 0,
    matrix: () => [
      [c(SQ), c(SQ)],
      [c(SQ), c(-SQ)],
    ],
    qasm: one('h'),
  },
  { name: 'x', code: Gate.X, arity: 1, nParams: 0, matrix: () => PX, qasm: one('x') },
  { name: 'y', code: Gate.Y, arity: 1, nParams: 0, matrix: () => PY, qasm: one('y') },
  { name: 'z', code: Gate.Z, arity: 1, nParams: 0, matrix: () => PZ, qasm: one('z') },
  { name: 's', code: Gate.S, arity: 1, nParams: 0, matrix: () => phase(Math.PI / 2), qasm: one('s') },
  { name: 't', code: Gate.T, arity: 1, nParams: 0, matrix: () => phase(Math.PI / 4), qasm: one('t') },
  {
    name: 'rx',
    code: Gate.RX,
    arity: 1,
    nParams: 1,
    matrix: (p) => rx(p[0]),
    generator: { matrix: PX, scale: -0.5 },
    qasm: one('rx'),
  },
  {
    name: 'ry',
    code: Gate.RY,
    arity: 1,
    nParams: 1,
    matrix: (p) => ry(p[0]),
    generator: { matrix: PY, scale: -0.5 },
    qasm: one('ry'),
  },
  {
    name: 'rz',
    code: Gate.RZ,
    arity: 1,
    nParams: 1,
    matrix: (p) => rz(p[0]),
    generator: { matrix: PZ, scale: -0.5 },
    qasm: one('rz'),
  },
  {
    name: 'p',
    code: Gate.P,
    arity: 1,
    nParams: 1,
    matrix: (p) => phase(p[0]),
    generator: { matrix: diag2(Z0, ONE), scale: 1 },
    qasm: one('p'),
  },
  {
    name: 'rot',
    code: Gate.ROT,
    arity: 1,
    nParams: 3,
    matrix: (p) => matmul(rz(p[2]), matmul(ry(p[1]), rz(p[0]))),
    qasm: (p, q) => [`rz(${num(p[0])}) ${q[0]};`, `ry(${num(p[1])}) ${q[0]};`, `rz(${num(p[2])}) ${q[0]};`],
  },
  {
    name: 'cx',
    code: Gate.CX,
    arity: 2,
    nParams: 0,
    matrix: () => perm4([0, 3, 2, 1]),
    qasm: (_, q) => [`cx ${q[0]}, ${q[1]};`],
  },
  {
    name: 'cz',
    code: Gate.CZ,
    arity: 2,
    nParams: 0,
    matrix: () => diag4([ONE, ONE, ONE, c(-1)]),
    qasm: (_, q) => [`cz ${q[0]}, ${q[1]};`],
  },
  {
    name: 'swap',
    code: Gate.SWAP,
    arity: 2,
    nParams: 0,
    matrix: () => perm4([0, 2, 1, 3]),
    qasm: (_, q) => [`swap ${q[0]}, ${q[1]};`],
  },
  {
    name: 'zz',
    code: Gate.ZZ,
    arity: 2,
    nParams: 1,
    matrix: (p) => diag4([ONE, cexp(p[0]), cexp(p[0]), ONE]),
    generator: { matrix: diag4([Z0, ONE, ONE, Z0]), scale: 1 },
    // exactly Qiskit's ZZFeatureMap pair block
    qasm: (p, q) => [`cx ${q[0]}, ${q[1]};`, `p(${num(p[0])}) ${q[1]};`, `cx ${q[0]}, ${q[1]};`],
  },
];

const BY_NAME = new Map(GATES.map((g) => [g.name, g]));
const BY_CODE = new Map(GATES.map((g) => [g.code, g]));

/** The table entry for a (case-insensitive) gate name, or undefined. */
export function gateByName(name: string): GateDef | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/** The table entry for a kernel gate code. */
export function gateByCode(code: Gate): GateDef {
  const g = BY_CODE.get(code);
  if (!g) throw new Error(`unknown gate code ${code}`);
  return g;
}
