import { describe, expect, it } from 'vitest';
import type { InferenceSession } from 'onnxruntime-common';
import { runSession, type OrtLike, type SessionShape } from './session.ts';

const shape: SessionShape = {
  id: 'fake',
  input: { name: 'input', shape: [1, 1, 2, 2, 2] },
  outputs: { features: 'features' },
} as SessionShape;

class FakeTensor {
  constructor(
    public type: string,
    public data: Float32Array,
    public dims: readonly number[],
  ) {}
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

describe('runSession with Grad-CAM outputs', () => {
  const camShape = {
    id: 'cam',
    input: { name: 'input', shape: [1, 1, 2, 2, 2] },
    outputs: {
      features: 'features',
      feature_map: 'feature_map',
      cam: { gradient: 'g', feature_map: 'a', weights: 'w', n_features: 2, stage: 2 },
    },
  } as SessionShape;

  /** Records what each run was fed and asked for; answers every asked output with the gradient's values. */
  function recordingSession() {
    const calls: { feeds: Record<string, FakeTensor>; fetches: string[] }[] = [];
    const session = {
      async run(feeds: Record<string, FakeTensor>, fetches: string[]) {
        calls.push({ feeds, fetches });
        return Object.fromEntries(
          fetches.map((n) => [n, new FakeTensor('float32', Float32Array.from(feeds.g.data), [1, 2, 1, 1, 1])]),
        );
      },
    } as unknown as InferenceSession;
    return { session, calls };
  }

  it('a classification feeds a zero gradient and asks only for the features and the last map', async () => {
    const { session, calls } = recordingSession();
    const out = await runSession(ort, session, camShape, volume(1));
    expect(calls[0].fetches).toEqual(['features', 'feature_map']);
    expect(Array.from(calls[0].feeds.g.data)).toEqual([0, 0]);
    expect(calls[0].feeds.g.dims).toEqual([1, 2]);
    expect(out.cam).toBeUndefined();
  });

  it('an explanation feeds the head gradient and returns the stage map and its weights', async () => {
    const { session, calls } = recordingSession();
    const out = await runSession(ort, session, camShape, volume(1), [0.5, -2]);
    expect(calls[0].fetches).toEqual(['features', 'a', 'w']);
    expect(Array.from(out.cam!.channelGrad)).toEqual([0.5, -2]);
    expect(out.cam!.featureMapDims).toEqual([2, 1, 1, 1]);
  });

  it('refuses a gradient of the wrong length, or one for a bundle without Grad-CAM outputs', async () => {
    const { session } = recordingSession();
    await expect(runSession(ort, session, camShape, volume(1), [1, 2, 3])).rejects.toThrow(
      /gradient has 3 values, the backbone has 2 features/,
    );
    await expect(runSession(ort, session, shape, volume(1), [1])).rejects.toThrow(/model fake has no Grad-CAM outputs/);
  });
});
