/**
 * Makes any single typed-array or ArrayBuffer allocation above ALLOC_LIMIT_BYTES throw the
 * RangeError a browser tab throws when it cannot get the memory, and records it. Fuzz inputs are a
 * few KB, whose legitimate decoding needs far less (deflate expands at most 1032×), so only a size
 * taken from an unchecked header or trailer field can get there. The record makes such a request a
 * failure even where the loader catches the RangeError: on this machine the allocation would
 * succeed and the bug go unseen, in a tab it may not.
 */
const ALLOC_LIMIT_BYTES = 64 * 2 ** 20;

const CONSTRUCTORS = [
  'ArrayBuffer',
  'Uint8Array',
  'Int8Array',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
] as const;

const refused: string[] = [];

/** The allocations refused since the last call. */
export function takeRefusals(): string[] {
  return refused.splice(0);
}

export function guardAllocations(): void {
  const g = globalThis as unknown as Record<string, unknown>;
  for (const name of CONSTRUCTORS) {
    const ctor = g[name] as (new (...args: unknown[]) => object) & { BYTES_PER_ELEMENT?: number };
    const per = ctor.BYTES_PER_ELEMENT ?? 1;
    g[name] = new Proxy(ctor, {
      construct(target, args, newTarget) {
        if (typeof args[0] === 'number' && args[0] * per > ALLOC_LIMIT_BYTES) {
          refused.push(`${name}(${args[0]})`);
          throw new RangeError(
            `Array buffer allocation failed (${name}(${args[0]}), over the fuzz limit of ${ALLOC_LIMIT_BYTES} bytes)`,
          );
        }
        return Reflect.construct(target, args, newTarget);
      },
    });
  }
}
