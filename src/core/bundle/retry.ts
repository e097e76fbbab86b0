/**
 * Bundle downloads survive a transient network failure: fetch (or reading the body) rejecting with
 * a TypeError, e.g. a dropped connection, or Chromium's net::ERR_CACHE_WRITE_FAILURE when two
 * requests for one large file share an in-memory HTTP cache entry (two tabs on a first visit in a
 * private window). An HTTP error status or a wrong sha256 is the server's answer, not a failure of
 * the network, and is never tried again.
 */
export interface RetryOptions {
  /** Attempts in all (default 3). */
  tries?: number;
  /** Wait before the second attempt, doubled before each later one (default 500 ms). */
  delayMs?: number;
  /** How to wait; tests pass one that records the delays instead. */
  sleep?: (ms: number) => Promise<void>;
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `attempt`, again after a backoff while it fails with a network error (TypeError), up to `tries` times. */
export async function retryNetwork<T>(attempt: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const { tries = 3, delayMs = 500, sleep = wait } = opts;
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      if (i >= tries) throw new TypeError(`${err.message}; network error on each of ${tries} tries`, { cause: err });
      await sleep(delayMs * 2 ** (i - 1));
    }
  }
}
