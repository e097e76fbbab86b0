// `qumri circuit`: JSON outputs and gradients equal the API's, QASM text, exit codes 1/2 with messages.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSimulator } from '../../core/quantum/simulator.ts';
import { maxAbsDiff, spec, testEngine } from '../../core/quantum/testing/helpers.ts';
import { run } from './circuit.ts';

async function capture(argv: string[]): Promise<{ rc: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(console, 'log').mockImplementation((m: unknown) => {
    out += `${String(m)}\n`;
  });
  vi.spyOn(console, 'error').mockImplementation((m: unknown) => {
    err += `${String(m)}\n`;
  });
  vi.spyOn(process.stdout, 'write').mockImplementation((m: string | Uint8Array) => {
    out += String(m);
    return true;
  });
  let rc: number;
  try {
    rc = await run(argv);
  } catch (e) {
    rc = 1;
    err += (e as Error).message;
  }
  return { rc, out, err };
}

afterEach(() => vi.restoreAllMocks());

describe('qumri circuit', () => {
  const w = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
  const args = [
    '--qubits',
    '2',
    '--feature-map',
    'zz',
    '--ansatz',
    'real_amplitudes',
    '--readout',
    'parity',
    '--x',
    '[0.3,-0.7]',
    '--weights',
    JSON.stringify(w),
  ];

  it('prints outputs and adjoint gradients as JSON', async () => {
    await testEngine();
    const { rc, out } = await capture([...args, '--grad']);
    expect(rc).toBe(0);
    const json = JSON.parse(out) as { outputs: number[]; grad_x: number[]; grad_weights: number[] };
    const sim = createSimulator(await testEngine());
    const s = spec(2, [{ family: 'zz_feature_map' }, { family: 'real_amplitudes' }], 'parity');
    const g = sim.backward(s, Float64Array.of(0.3, -0.7), Float64Array.from(w), Float64Array.of(1));
    expect(maxAbsDiff(json.outputs, g.outputs)).toBe(0);
    expect(maxAbsDiff(json.grad_x, g.gradX)).toBe(0);
    expect(maxAbsDiff(json.grad_weights, g.gradWeights)).toBe(0);
  });

  it('estimates from shots and prints OpenQASM 3', async () => {
    const shots = await capture([...args, '--shots', '4000', '--seed', '1']);
    expect(shots.rc).toBe(0);
    expect(JSON.parse(shots.out).outputs).toHaveLength(1);
    const qasm = await capture([...args, '--qasm']);
    expect(qasm.out.startsWith('OPENQASM 3.0;\ninclude "stdgates.inc";')).toBe(true);
    const other = await capture([
      '--qubits',
      '3',
      '--feature-map',
      'angle:y',
      '--ansatz',
      'rxyz_ring:2',
      '--readout',
      'xz',
      '--x',
      '[1,2,3]',
      '--weights',
      JSON.stringify(new Array(18).fill(0.1)),
    ]);
    expect(JSON.parse(other.out).outputs).toHaveLength(6);
  });

  it('exits 2 on bad usage and 1 on bad values, naming them', async () => {
    expect(await capture([...args, '--bogus'])).toMatchObject({
      rc: 2,
      err: expect.stringMatching(/unknown argument '--bogus'/),
    });
    expect(
      await capture(['--qubits', '2', '--feature-map', 'zz:2:star', '--readout', 'z', '--x', '[1,2]']),
    ).toMatchObject({ rc: 1, err: expect.stringMatching(/entanglement: .*got 'star'/) });
    expect(await capture([...args.slice(0, -2), '--weights', '[1,2]'])).toMatchObject({
      rc: 1,
      err: expect.stringMatching(/weights: expected 8 values, got 2/),
    });
    expect(await capture([...args, '--shots', '10'])).toMatchObject({
      rc: 2,
      err: expect.stringMatching(/--shots and --seed go together/),
    });
  });
});
