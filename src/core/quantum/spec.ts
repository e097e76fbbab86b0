/**
 * The circuit spec (`qumri-circuit/1`, docs/circuit-spec.md): types, defaults, validation and
 * shape. `parseCircuitSpec` accepts untrusted JSON and throws a CircuitSpecError naming the bad
 * field and value; everything downstream may assume a valid spec.
 */
import { MAX_QUBITS } from '../../../kernel/assembly/codes.ts';
import { gateByName } from './gates.ts';

export type Entanglement = 'full' | 'linear' | 'reverse_linear' | 'circular';
export type ReadoutName = 'z' | 'x' | 'xz' | 'parity' | 'probs';
/** A parameter of an explicit gate: the next input feature, the next weight, or a constant. */
export type GateParam = 'x' | 'w' | number;

export interface ZZFeatureMapLayer {
  family: 'zz_feature_map';
  reps: number;
  entanglement: Entanglement;
  alpha: number;
}
export interface AngleLayer {
  family: 'angle';
  rotation: 'X' | 'Y' | 'Z';
}
export interface AmplitudeLayer {
  family: 'amplitude';
  normalize: boolean;
  pad_with: number;
  n_features: number;
}
export interface RealAmplitudesLayer {
  family: 'real_amplitudes';
  reps: number;
  entanglement: Entanglement;
  skip_final_rotation_layer: boolean;
}
export interface RotCnotLayer {
  family: 'rot_cnot';
  layers: number;
}
export interface RxyzRingLayer {
  family: 'rxyz_ring';
  layers: number;
}
export interface CnotRzLayer {
  family: 'cnot_rz';
  layers: number;
}
export interface GateOp {
  gate: string;
  qubits: number[];
  params: GateParam[];
}
/** An explicit gate list, for circuits outside the families. */
export interface GatesLayer {
  family: 'gates';
  ops: GateOp[];
}

export type Layer =
  | ZZFeatureMapLayer
  | AngleLayer
  | AmplitudeLayer
  | RealAmplitudesLayer
  | RotCnotLayer
  | RxyzRingLayer
  | CnotRzLayer
  | GatesLayer;
export type Family = Layer['family'];

export interface CircuitSpec {
  format: 'qumri-circuit/1';
  n_qubits: number;
  layers: Layer[];
  readout: ReadoutName;
}

export class CircuitSpecError extends Error {
  override name = 'CircuitSpecError';
}

export const ENTANGLEMENTS: readonly Entanglement[] = ['full', 'linear', 'reverse_linear', 'circular'];
export const READOUTS: readonly ReadoutName[] = ['z', 'x', 'xz', 'parity', 'probs'];
export const FAMILIES: readonly Family[] = [
  'zz_feature_map',
  'angle',
  'amplitude',
  'real_amplitudes',
  'rot_cnot',
  'rxyz_ring',
  'cnot_rz',
  'gates',
];

type Json = Record<string, unknown>;
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));
const fail = (where: string, msg: string): never => {
  throw new CircuitSpecError(`${where}: ${msg}`);
};

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(o: Json, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) fail(where, `unknown key '${k}' (allowed: ${allowed.join(', ')})`);
  }
}

function int(o: Json, key: string, dflt: number, min: number, where: string): number {
  const v = o[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    fail(`${where}.${key}`, `expected an integer ≥ ${min}, got ${show(v)}`);
  return v as number;
}

function finite(o: Json, key: string, dflt: number, where: string): number {
  const v = o[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${where}.${key}`, `expected a finite number, got ${show(v)}`);
  return v as number;
}

function bool(o: Json, key: string, dflt: boolean, where: string): boolean {
  const v = o[key] ?? dflt;
  if (typeof v !== 'boolean') fail(`${where}.${key}`, `expected true or false, got ${show(v)}`);
  return v as boolean;
}

function oneOf<T extends string>(o: Json, key: string, dflt: T, allowed: readonly T[], where: string): T {
  const v = o[key] ?? dflt;
  if (!allowed.includes(v as T)) fail(`${where}.${key}`, `expected one of ${allowed.join(', ')}, got ${show(v)}`);
  return v as T;
}

function parseGateOp(v: unknown, n: number, where: string): GateOp {
  if (!isObject(v)) return fail(where, `expected an object, got ${show(v)}`);
  onlyKeys(v, ['gate', 'qubits', 'params'], where);
  const def = typeof v.gate === 'string' ? gateByName(v.gate) : undefined;
  if (!def) return fail(`${where}.gate`, `unknown gate ${show(v.gate)}`);
  const qubits = v.qubits;
  if (!Array.isArray(qubits) || qubits.length !== def.arity) {
    return fail(`${where}.qubits`, `gate '${def.name}' acts on ${def.arity} qubit(s), got ${show(qubits)}`);
  }
  qubits.forEach((q, i) => {
    if (typeof q !== 'number' || !Number.isInteger(q) || q < 0 || q >= n) {
      fail(`${where}.qubits[${i}]`, `qubit index ${show(q)} out of range 0..${n - 1}`);
    }
  });
  if (def.arity === 2 && qubits[0] === qubits[1])
    fail(`${where}.qubits`, `a two-qubit gate needs two different qubits, got ${show(qubits)}`);
  const params = v.params ?? [];
  if (!Array.isArray(params) || params.length !== def.nParams) {
    return fail(`${where}.params`, `gate '${def.name}' takes ${def.nParams} parameter(s), got ${show(params)}`);
  }
  params.forEach((p, i) => {
    if (p !== 'x' && p !== 'w' && !(typeof p === 'number' && Number.isFinite(p))) {
      fail(`${where}.params[${i}]`, `expected 'x', 'w' or a finite number, got ${show(p)}`);
    }
  });
  return { gate: def.name, qubits: qubits as number[], params: params as GateParam[] };
}

function parseLayer(v: unknown, n: number, where: string): Layer {
  if (!isObject(v)) return fail(where, `expected an object, got ${show(v)}`);
  const family = v.family;
  switch (family) {
    case 'zz_feature_map':
      onlyKeys(v, ['family', 'reps', 'entanglement', 'alpha'], where);
      return {
        family,
        reps: int(v, 'reps', 2, 1, where),
        entanglement: oneOf(v, 'entanglement', 'full', ENTANGLEMENTS, where),
        alpha: finite(v, 'alpha', 2, where),
      };
    case 'angle':
      onlyKeys(v, ['family', 'rotation'], where);
      return { family, rotation: oneOf(v, 'rotation', 'X', ['X', 'Y', 'Z'] as const, where) };
    case 'amplitude': {
      onlyKeys(v, ['family', 'normalize', 'pad_with', 'n_features'], where);
      const nFeatures = int(v, 'n_features', 2 ** n, 1, where);
      if (nFeatures > 2 ** n)
        fail(`${where}.n_features`, `at most 2^${n} = ${2 ** n} features fit ${n} qubits, got ${nFeatures}`);
      return {
        family,
        normalize: bool(v, 'normalize', true, where),
        pad_with: finite(v, 'pad_with', 0, where),
        n_features: nFeatures,
      };
    }
    case 'real_amplitudes':
      onlyKeys(v, ['family', 'reps', 'entanglement', 'skip_final_rotation_layer'], where);
      return {
        family,
        reps: int(v, 'reps', 3, 0, where),
        entanglement: oneOf(v, 'entanglement', 'reverse_linear', ENTANGLEMENTS, where),
        skip_final_rotation_layer: bool(v, 'skip_final_rotation_layer', false, where),
      };
    case 'rot_cnot':
    case 'rxyz_ring':
    case 'cnot_rz':
      onlyKeys(v, ['family', 'layers'], where);
      return { family, layers: int(v, 'layers', 1, 1, where) };
    case 'gates': {
      onlyKeys(v, ['family', 'ops'], where);
      if (!Array.isArray(v.ops)) return fail(`${where}.ops`, `expected an array of gates, got ${show(v.ops)}`);
      return { family, ops: v.ops.map((op, i) => parseGateOp(op, n, `${where}.ops[${i}]`)) };
    }
    default:
      return fail(`${where}.family`, `unknown family ${show(family)} (known: ${FAMILIES.join(', ')})`);
  }
}

/** Validates untrusted JSON as a circuit spec and fills in the defaults. */
export function parseCircuitSpec(json: unknown): CircuitSpec {
  if (!isObject(json)) return fail('spec', `expected an object, got ${show(json)}`);
  onlyKeys(json, ['format', 'n_qubits', 'layers', 'readout'], 'spec');
  if (json.format !== 'qumri-circuit/1') fail('spec.format', `expected 'qumri-circuit/1', got ${show(json.format)}`);
  const n = int(json, 'n_qubits', NaN, 1, 'spec');
  if (n > MAX_QUBITS)
    fail(
      'spec.n_qubits',
      `${n} qubits exceed the kernel's limit of ${MAX_QUBITS} (2^${MAX_QUBITS} complex128 amplitudes = 256 MiB per state)`,
    );
  if (!Array.isArray(json.layers) || json.layers.length === 0)
    fail('spec.layers', `expected a non-empty array, got ${show(json.layers)}`);
  const layers = (json.layers as unknown[]).map((l, i) => parseLayer(l, n, `spec.layers[${i}]`));
  layers.forEach((l, i) => {
    if (l.family === 'amplitude' && i !== 0)
      fail(`spec.layers[${i}]`, 'amplitude embedding prepares the initial state, so it must be the first layer');
  });
  const readout = oneOf(json, 'readout', 'parity', READOUTS, 'spec');
  return { format: 'qumri-circuit/1', n_qubits: n, layers, readout };
}

/** Number of outputs of a readout on n qubits. */
export function readoutSize(readout: ReadoutName, n: number): number {
  switch (readout) {
    case 'z':
    case 'x':
      return n;
    case 'xz':
      return 2 * n;
    case 'parity':
      return 1;
    case 'probs':
      return 2 ** n;
  }
}

/** Input features and trainable weights one layer consumes. */
export function layerShape(layer: Layer, n: number): { nInputs: number; nWeights: number } {
  switch (layer.family) {
    case 'zz_feature_map':
    case 'angle':
      return { nInputs: n, nWeights: 0 };
    case 'amplitude':
      return { nInputs: layer.n_features, nWeights: 0 };
    case 'real_amplitudes':
      return { nInputs: 0, nWeights: n * (layer.reps + (layer.skip_final_rotation_layer ? 0 : 1)) };
    case 'rot_cnot':
    case 'rxyz_ring':
      return { nInputs: 0, nWeights: 3 * n * layer.layers };
    case 'cnot_rz':
      return { nInputs: 0, nWeights: n * layer.layers };
    case 'gates': {
      const all = layer.ops.flatMap((op) => op.params);
      return { nInputs: all.filter((p) => p === 'x').length, nWeights: all.filter((p) => p === 'w').length };
    }
  }
}

/** Sizes of x, weights and outputs for a valid spec. */
export function circuitShape(spec: CircuitSpec): { nInputs: number; nWeights: number; nOutputs: number } {
  let nInputs = 0;
  let nWeights = 0;
  for (const layer of spec.layers) {
    const s = layerShape(layer, spec.n_qubits);
    nInputs += s.nInputs;
    nWeights += s.nWeights;
  }
  return { nInputs, nWeights, nOutputs: readoutSize(spec.readout, spec.n_qubits) };
}
