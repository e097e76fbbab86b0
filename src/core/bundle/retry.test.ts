import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBundle, retryNetwork, urlSource } from './index.ts';

const TINY = fileURLToPath(new URL('../../../fixtures/bundles/tiny-q/', import.meta.url));
const BASE = 'https://qumri.test/models/tiny-q/';

/** Records the backoff delays instead of waiting. */
function recorder() {
  const delays: number[] = [];
  return { delays, sleep: async (ms: number) => void delays.push(ms) };
}

/** The tiny bundle over a fake fetch: `fail(name, attempt)` may answer a request instead of the file. */
function server(fail: (name: string, attempt: number) => Response | Error | undefined) {
  const calls = new Map<string, number>();
  const fetchFn = async (input: RequestInfo | URL): Promise<Response> => {
    const name = String(input).slice(BASE.length);
    const attempt = (calls.get(name) ?? 0) + 1;
    calls.set(name, attempt);
    const answer = fail(name, attempt);
    if (answer instanceof Error) throw answer;
    return (
      answer ??
      new Response(readFileSync(path.join(TINY, name)), { headers: { 'content-type': 'application/octet-stream' } })
    );
  };
  return { calls, fetchFn: fetchFn as typeof fetch };
}

describe('retryNetwork', () => {
  it('tries a network error (TypeError) again with a doubling backoff', async () => {
    const { delays, sleep } = recorder();
    let n = 0;
    const got = await retryNetwork(
      async () => {
        if (++n < 3) throw new TypeError('Failed to fetch');
        return 'bytes';
      },
      { tries: 3, delayMs: 100, sleep },
    );
    expect(got).toBe('bytes');
    expect(n).toBe(3);
    expect(delays).toEqual([100, 200]);
  });

  it('gives up after the last try, saying how many it made', async () => {
    const { delays, sleep } = recorder();
    let n = 0;
    const attempt = async () => {
      n++;
      throw new TypeError('Failed to fetch');
    };
    await expect(retryNetwork(attempt, { tries: 4, sleep })).rejects.toThrow(
      'Failed to fetch; network error on each of 4 tries',
    );
    expect(n).toBe(4);
    expect(delays).toEqual([500, 1000, 2000]);
  });

  it('does not retry an error that is not the network failing', async () => {
    const { delays, sleep } = recorder();
    let n = 0;
    await expect(
      retryNetwork(
        async () => {
          n++;
          throw new Error('HTTP 404');
        },
        { sleep },
      ),
    ).rejects.toThrow('HTTP 404');
    expect(n).toBe(1);
    expect(delays).toEqual([]);
  });
});

describe('urlSource', () => {
  it('loads a bundle whose backbone download fails once with a network error (net::ERR_CACHE_WRITE_FAILURE)', async () => {
    const { delays, sleep } = recorder();
    const { calls, fetchFn } = server((name, attempt) =>
      name === 'backbone.onnx' && attempt === 1 ? new TypeError('Failed to fetch') : undefined,
    );
    const b = await loadBundle(urlSource(BASE, fetchFn, { sleep }));
    expect(b.manifest.id).toBe('tiny-q');
    expect(calls.get('backbone.onnx')).toBe(2);
    expect(delays).toEqual([500]);
  });

  it('tries again when the body breaks off while it is read', async () => {
    const { sleep } = recorder();
    const broken = () => new Response(new ReadableStream({ pull: (c) => c.error(new TypeError('network error')) }));
    const { calls, fetchFn } = server((name, attempt) =>
      name === 'head.json' && attempt === 1 ? broken() : undefined,
    );
    await loadBundle(urlSource(BASE, fetchFn, { sleep }));
    expect(calls.get('head.json')).toBe(2);
  });

  it('does not retry a 404', async () => {
    const { delays, sleep } = recorder();
    const { calls, fetchFn } = server((name) =>
      name === 'head.json' ? new Response('not found', { status: 404 }) : undefined,
    );
    await expect(loadBundle(urlSource(BASE, fetchFn, { sleep }))).rejects.toThrow(/cannot read head\.json .*HTTP 404/);
    expect(calls.get('head.json')).toBe(1);
    expect(delays).toEqual([]);
  });

  it('does not retry a file whose sha256 is wrong', async () => {
    const { delays, sleep } = recorder();
    const onnx = new Uint8Array(readFileSync(path.join(TINY, 'backbone.onnx')));
    onnx[onnx.length - 10] ^= 0xff;
    const { calls, fetchFn } = server((name) => (name === 'backbone.onnx' ? new Response(onnx) : undefined));
    await expect(loadBundle(urlSource(BASE, fetchFn, { sleep }))).rejects.toThrow(
      /backbone\.onnx has sha256 .*refusing the model/,
    );
    expect(calls.get('backbone.onnx')).toBe(1);
    expect(delays).toEqual([]);
  });

  it('gives up on a network that keeps failing, with a message naming the model, the file and the tries', async () => {
    const { sleep } = recorder();
    const { calls, fetchFn } = server((name) =>
      name === 'backbone.onnx' ? new TypeError('Failed to fetch') : undefined,
    );
    await expect(loadBundle(urlSource(BASE, fetchFn, { sleep }))).rejects.toThrow(
      /model tiny-q: cannot read backbone\.onnx from https:\/\/qumri\.test\/models\/tiny-q\/ \(Failed to fetch; network error on each of 3 tries\)/,
    );
    expect(calls.get('backbone.onnx')).toBe(3);
  });
});
