/**
 * Parsing and validation of a bundle's head.json (`qumri-head/1`, docs/model-bundle.md): the layers
 * applied after the pooled backbone features, checked for shapes that chain from input to 2 logits.
 */

export const ACTIVATIONS = ['none', 'relu', 'sigmoid', 'tanh', 'sigmoid_pi', 'sigmoid_l2'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface DenseLayer {
  type: 'dense';
  in: number;
  out: number;
  activation: Activation;
  /** Row-major [out][in], flattened. */
  weight: Float64Array;
  bias: Float64Array;
}

export interface QuantumLayer {
  type: 'quantum';
  /** A `qumri-circuit/1` object, handed unchanged to src/core/quantum. */
  circuit: Record<string, unknown> & { n_qubits: number; readout: string };
  weights: Float64Array;
}

export interface PairLogitsLayer {
  type: 'pair_logits';
}

export type HeadLayer = DenseLayer | QuantumLayer | PairLogitsLayer;

export interface HeadSpec {
  layers: HeadLayer[];
}

export class HeadError extends Error {
  override name = 'HeadError';
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function numbers(v: unknown, len: number, where: string): Float64Array {
  if (!Array.isArray(v) || v.length !== len || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    const got = Array.isArray(v) ? `${v.length} entries` : JSON.stringify(v)?.slice(0, 40);
    throw new HeadError(`head.json ${where}: expected ${len} finite numbers, got ${got}`);
  }
  return Float64Array.from(v as number[]);
}

function parseDense(l: Json, where: string): DenseLayer {
  const inN = l.in,
    outN = l.out;
  if (!Number.isInteger(inN) || !Number.isInteger(outN) || (inN as number) < 1 || (outN as number) < 1) {
    throw new HeadError(`head.json ${where}: in/out must be positive integers, got ${JSON.stringify([inN, outN])}`);
  }
  const activation = (l.activation ?? 'none') as Activation;
  if (!ACTIVATIONS.includes(activation)) {
    throw new HeadError(
      `head.json ${where}.activation: unknown activation ${JSON.stringify(l.activation)} (known: ${ACTIVATIONS.join(', ')})`,
    );
  }
  const rows = l.weight;
  if (!Array.isArray(rows) || rows.length !== outN) {
    throw new HeadError(
      `head.json ${where}.weight: expected ${outN} rows of ${inN}, got ${Array.isArray(rows) ? rows.length : typeof rows} rows`,
    );
  }
  const weight = new Float64Array((outN as number) * (inN as number));
  rows.forEach((row, r) => weight.set(numbers(row, inN as number, `${where}.weight[${r}]`), r * (inN as number)));
  return {
    type: 'dense',
    in: inN as number,
    out: outN as number,
    activation,
    weight,
    bias: numbers(l.bias, outN as number, `${where}.bias`),
  };
}

function parseQuantum(l: Json, where: string): QuantumLayer {
  const c = l.circuit;
  if (
    !isObject(c) ||
    c.format !== 'qumri-circuit/1' ||
    !Number.isInteger(c.n_qubits) ||
    typeof c.readout !== 'string'
  ) {
    throw new HeadError(`head.json ${where}.circuit: expected a qumri-circuit/1 object with n_qubits and readout`);
  }
  const w = l.weights;
  if (!Array.isArray(w)) throw new HeadError(`head.json ${where}.weights: expected an array of numbers`);
  return { type: 'quantum', circuit: c as QuantumLayer['circuit'], weights: numbers(w, w.length, `${where}.weights`) };
}

/** Parses head.json text into typed layers (shape chaining is checked by `headWidths`). */
export function parseHead(text: string): HeadSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new HeadError(`head.json is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw) || raw.format !== 'qumri-head/1') {
    throw new HeadError(
      `head.json: expected format "qumri-head/1", got ${JSON.stringify(isObject(raw) ? raw.format : raw)?.slice(0, 40)}`,
    );
  }
  if (!Array.isArray(raw.layers) || raw.layers.length === 0)
    throw new HeadError('head.json: "layers" must be a non-empty array');
  const layers = raw.layers.map((l: unknown, i: number): HeadLayer => {
    const where = `layers[${i}]`;
    if (!isObject(l)) throw new HeadError(`head.json ${where}: expected an object`);
    if (l.type === 'dense') return parseDense(l, where);
    if (l.type === 'quantum') return parseQuantum(l, where);
    if (l.type === 'pair_logits') return { type: 'pair_logits' };
    throw new HeadError(
      `head.json ${where}.type: unknown layer type ${JSON.stringify(l.type)} (known: dense, quantum, pair_logits)`,
    );
  });
  return { layers };
}

/** The vector width after each layer, given the quantum layers' output widths; throws on a mismatch. */
export function headWidths(
  spec: HeadSpec,
  inputWidth: number,
  quantumOut: (l: QuantumLayer, inWidth: number) => number,
): number[] {
  const widths: number[] = [];
  let w = inputWidth;
  spec.layers.forEach((l, i) => {
    if (l.type === 'dense') {
      if (l.in !== w) throw new HeadError(`head.json layers[${i}]: dense layer takes ${l.in} inputs but receives ${w}`);
      w = l.out;
    } else if (l.type === 'quantum') {
      w = quantumOut(l, w);
    } else {
      if (w !== 1) throw new HeadError(`head.json layers[${i}]: pair_logits takes 1 input but receives ${w}`);
      w = 2;
    }
    widths.push(w);
  });
  if (w !== 2) throw new HeadError(`head.json: the head ends with ${w} outputs, expected 2 logits`);
  return widths;
}

/** head.json text for a head (parseHead's inverse): dense weights as [out][in] rows, numbers as float64. */
export function formatHead(spec: HeadSpec): string {
  const layers = spec.layers.map((l) => {
    if (l.type === 'dense') {
      const weight = Array.from({ length: l.out }, (_, r) => Array.from(l.weight.subarray(r * l.in, (r + 1) * l.in)));
      return { type: 'dense', in: l.in, out: l.out, activation: l.activation, weight, bias: Array.from(l.bias) };
    }
    if (l.type === 'quantum') return { type: 'quantum', circuit: l.circuit, weights: Array.from(l.weights) };
    return { type: 'pair_logits' };
  });
  return `${JSON.stringify({ format: 'qumri-head/1', layers, output: 'logits' }, null, 1)}\n`;
}
