import { describe, expect, it } from 'vitest';
import type { InferenceSession } from 'onnxruntime-common';
import { runSession, type OrtLike, type SessionShape } from './session.ts';

const shape: SessionShape = {
  id: 'fake',
  input: { name: 'input', shape: [1, 1, 2, 2, 2] },
  outputs: { features: 'features' },
} as SessionShape;

class FakeTensor {
  constructor(public type: string, public data: Float32Array, public dims: readonly number[]) {}
  dispose(): void {}
}

/** A session that records how many runs overlap and answers the input's sum after a delay. */
function fakeSession(fail: (sum: number) => boolean) {
  const stats = { active: 0, maxActive: 0, order: [] as number[] };
  const session = {
    async run(feeds: Record<string, FakeTensor>) {
      const sum = feeds.input.data.reduce((a, b) => a + b, 0);
      stats.active++;
      stats.maxActive = Math.max(stats.maxActive, stats.active);
      await new Promise((r) => setTimeout(r, 5));
      stats.active--;
      stats.order.push(sum);
      if (fail(sum)) throw new Error(`run ${sum} failed`);
      return { features: new FakeTensor('float32', Float32Array.of(sum), [1, 1]) };
    },
  } as unknown as InferenceSession;
  return { session, stats };
}

const ort = { Tensor: FakeTensor } as unknown as OrtLike;
const volume = (v: number) => new Float32Array(8).fill(v / 8);

describe('runSession', () => {
  it('never runs one session twice at once, in call order, each caller getting its own result', async () => {
    const { session, stats } = fakeSession(() => false);
    const outs = await Promise.all([1, 2, 3].map((v) => runSession(ort, session, shape, volume(v))));
    expect(stats.maxActive).toBe(1);
    expect(stats.order).toEqual([1, 2, 3]);
    expect(outs.map((o) => o.features[0])).toEqual([1, 2, 3]);
  });

  it('a failed run rejects only its own caller and the queue goes on', async () => {
    const { session, stats } = fakeSession((s) => s === 2);
    const results = await Promise.allSettled([1, 2, 3].map((v) => runSession(ort, session, shape, volume(v))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(stats.maxActive).toBe(1);
  });

  it('refuses a volume that is not on the model grid', async () => {
    const { session } = fakeSession(() => false);
    await expect(runSession(ort, session, shape, new Float32Array(7))).rejects.toThrow(/not on the model grid/);
  });
});
