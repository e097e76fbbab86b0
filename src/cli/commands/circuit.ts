/** `qumri circuit`: evaluate one quantum circuit with the WASM kernel; prints JSON (outputs, gradients) or OpenQASM 3. */
import { readFile } from 'node:fs/promises';
import {
  type CircuitSpec,
  circuitShape,
  loadKernel,
  parseCircuitSpec,
  referenceKernel,
  toQasm3,
} from '../../core/quantum/index.ts';

export const usage = `usage: qumri circuit --qubits N
                     --feature-map zz[:reps[:entanglement[:alpha]]] | angle:x | angle:y | angle:z | amplitude
                     --ansatz real_amplitudes[:reps[:entanglement]] | rot_cnot[:layers] | rxyz_ring[:layers] | cnot_rz[:layers]
                     --readout z | x | xz | parity | probs
                     --x '[..]' --weights '[..]' [--grad [--out-weights '[..]']] [--shots N --seed S] [--qasm]
       qumri circuit --spec circuit.json --x '[..]' --weights '[..]' [...]

Evaluates the circuit (docs/circuit-spec.md) with the AssemblyScript kernel and prints
{ "outputs": [...] } as JSON; --grad adds "grad_x" and "grad_weights", the adjoint gradients of
L = Σ out_weights·outputs (out weights default to 1). --x may hold several samples (a multiple
of the input count): outputs and grad_x are then concatenated, grad_weights summed.
--shots N --seed S estimates the outputs from N seeded shots instead (one sample; gradients stay exact).
--qasm prints the circuit with its parameters bound as OpenQASM 3 instead of evaluating it.
Weights are consumed in circuit order (kernel/README.md). Entanglement: full, linear,
reverse_linear, circular. Defaults: zz reps 2, full, alpha 2; real_amplitudes reps 3,
reverse_linear; other ansätze 1 layer. --engine typescript runs the plain-TypeScript engine.
Exit 0 on success, 1 on bad values (message names them), 2 on bad usage.`;

class UsageError extends Error {}

const FLAGS = [
  '--qubits',
  '--feature-map',
  '--ansatz',
  '--readout',
  '--x',
  '--weights',
  '--out-weights',
  '--shots',
  '--seed',
  '--spec',
  '--engine',
];
const SWITCHES = ['--grad', '--qasm'];

function parseArgs(argv: string[]): { values: Map<string, string>; switches: Set<string> } {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (SWITCHES.includes(a)) switches.add(a);
    else if (FLAGS.includes(a)) {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      values.set(a, argv[++i]);
    } else throw new UsageError(`unknown argument '${a}'`);
  }
  return { values, switches };
}

function count(text: string, what: string): number {
  const v = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(v))
    throw new UsageError(`${what} must be a non-negative integer, got '${text}'`);
  return v;
}

/** --feature-map value → encoder layer. */
function featureMap(text: string): Record<string, unknown> {
  const [name, ...opts] = text.split(':');
  if (name === 'zz') {
    const [reps, entanglement, alpha] = opts;
    const alphaValue = alpha === undefined ? undefined : Number(alpha);
    if (alpha !== undefined && !Number.isFinite(alphaValue))
      throw new UsageError(`zz alpha must be a number, got '${alpha}'`);
    return {
      family: 'zz_feature_map',
      ...(reps ? { reps: count(reps, 'zz reps') } : {}),
      ...(entanglement ? { entanglement } : {}),
      ...(alpha !== undefined ? { alpha: alphaValue } : {}),
    };
  }
  if (name === 'angle') {
    const rot = (opts[0] ?? 'x').toUpperCase();
    if (!['X', 'Y', 'Z'].includes(rot) || opts.length > 1)
      throw new UsageError(`--feature-map angle takes :x, :y or :z, got '${text}'`);
    return { family: 'angle', rotation: rot };
  }
  if (name === 'amplitude' && opts.length === 0) return { family: 'amplitude' };
  throw new UsageError(`unknown --feature-map '${text}' (zz[:reps[:entanglement[:alpha]]], angle:x|y|z, amplitude)`);
}

/** --ansatz value → ansatz layer. */
function ansatz(text: string): Record<string, unknown> {
  const [name, ...opts] = text.split(':');
  if (name === 'real_amplitudes') {
    const [reps, entanglement] = opts;
    return {
      family: name,
      ...(reps ? { reps: count(reps, 'real_amplitudes reps') } : {}),
      ...(entanglement ? { entanglement } : {}),
    };
  }
  if (name === 'rot_cnot' || name === 'rxyz_ring' || name === 'cnot_rz') {
    if (opts.length > 1) throw new UsageError(`--ansatz ${name} takes at most :layers, got '${text}'`);
    return { family: name, ...(opts[0] ? { layers: count(opts[0], `${name} layers`) } : {}) };
  }
  throw new UsageError(
    `unknown --ansatz '${text}' (real_amplitudes[:reps[:entanglement]], rot_cnot[:layers], rxyz_ring[:layers], cnot_rz[:layers])`,
  );
}

/** A JSON array of finite numbers. */
function numbers(text: string | undefined, flag: string): Float64Array {
  if (text === undefined) throw new UsageError(`${flag} is required`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${flag}: not valid JSON: ${text}`);
  }
  if (!Array.isArray(v)) throw new Error(`${flag}: expected a JSON array of numbers, got ${text}`);
  v.forEach((a, i) => {
    if (typeof a !== 'number') throw new Error(`${flag}[${i}]: expected a number, got ${JSON.stringify(a)}`);
  });
  return Float64Array.from(v as number[]);
}

async function buildSpec(values: Map<string, string>): Promise<CircuitSpec> {
  const file = values.get('--spec');
  if (file) {
    if (['--qubits', '--feature-map', '--ansatz', '--readout'].some((f) => values.has(f))) {
      throw new UsageError('--spec replaces --qubits, --feature-map, --ansatz and --readout');
    }
    const text = await readFile(file, 'utf8');
    return parseCircuitSpec(JSON.parse(text));
  }
  for (const f of ['--qubits', '--feature-map', '--readout'])
    if (!values.has(f)) throw new UsageError(`${f} is required`);
  const layers = [featureMap(values.get('--feature-map')!)];
  if (values.has('--ansatz')) layers.push(ansatz(values.get('--ansatz')!));
  return parseCircuitSpec({
    format: 'qumri-circuit/1',
    n_qubits: count(values.get('--qubits')!, '--qubits'),
    layers,
    readout: values.get('--readout'),
  });
}

export async function run(argv: string[]): Promise<number> {
  try {
    return await evaluate(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`qumri circuit: ${err.message}\n\n${usage}`);
    return 2;
  }
}

async function evaluate(argv: string[]): Promise<number> {
  const { values, switches } = parseArgs(argv);
  const spec = await buildSpec(values);
  const shape = circuitShape(spec);
  const x = numbers(values.get('--x') ?? (shape.nInputs === 0 ? '[]' : undefined), '--x');
  const weights = numbers(values.get('--weights') ?? (shape.nWeights === 0 ? '[]' : undefined), '--weights');
  if (switches.has('--qasm')) {
    process.stdout.write(toQasm3(spec, x, weights));
    return 0;
  }
  const engine = values.get('--engine') ?? 'wasm';
  if (engine !== 'wasm' && engine !== 'typescript')
    throw new UsageError(`--engine must be wasm or typescript, got '${engine}'`);
  if (values.has('--shots') !== values.has('--seed')) throw new UsageError('--shots and --seed go together');
  const kernel = engine === 'wasm' ? await loadKernel() : referenceKernel();
  const outputs = values.has('--shots')
    ? kernel.sample(spec, x, weights, count(values.get('--shots')!, '--shots'), count(values.get('--seed')!, '--seed'))
    : kernel.forward(spec, x, weights);
  const result: Record<string, number[]> = { outputs: [...outputs] };
  if (switches.has('--grad')) {
    const batch = shape.nInputs > 0 ? x.length / shape.nInputs : 1;
    const outWeights = values.has('--out-weights')
      ? numbers(values.get('--out-weights'), '--out-weights')
      : new Float64Array(batch * shape.nOutputs).fill(1);
    const g = kernel.backward(spec, x, weights, outWeights);
    result.grad_x = [...g.gradX];
    result.grad_weights = [...g.gradWeights];
  }
  console.log(JSON.stringify(result));
  return 0;
}
