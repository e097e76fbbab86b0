/**
 * Loader fuzzing (issue 19, item 6): damaged NIfTI-1, NIfTI-2 and gzip files must each end in a
 * ScanError or a valid volume, never another exception, never a hang. fast-check runs from a fixed
 * seed, so every run tries the same cases; on failure it prints the seed and path to replay the
 * case. QUMRI_FUZZ_SEED=<n> tries other cases, QUMRI_FUZZ_SCALE=<k> k times as many.
 *
 * Each case runs in a worker thread under a 2 s deadline (watched-worker.ts): a case stuck in a
 * loop cannot stop the test thread from noticing. The worker also refuses any allocation over
 * 64 MiB (alloc-guard.ts), since no input here needs that much.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CASE_LIMIT_MS, WatchedWorker } from './fuzz/watched-worker.ts';
import type { CaseOutcome, NiftiCase } from './fuzz/nifti-worker.ts';
import {
  baseSpec,
  buildNifti,
  gzipHeaderBytes,
  gzipMutations,
  gzipSpec,
  gzipWith,
  mutate,
  mutateGzip,
  niftiMutations,
  type BaseSpec,
} from './fuzz/nifti-cases.ts';

const SEED = Number(process.env.QUMRI_FUZZ_SEED ?? 190_006);

const worker = new WatchedWorker<NiftiCase, CaseOutcome>(new URL('./fuzz/nifti-worker.ts', import.meta.url));
beforeAll(() => worker.start(), 30_000);
afterAll(() => worker.stop());

/** Outcome counts per category, printed at the end so a reader sees how deep the cases got. */
const tally = new Map<string, Map<string, number>>();

async function parseInWorker(
  category: string,
  bytes: Uint8Array,
  fileName: string,
  firstVolumeOnly: boolean,
  offset: number,
): Promise<CaseOutcome> {
  const buffer = new ArrayBuffer(offset + bytes.length);
  new Uint8Array(buffer, offset).set(bytes);
  const answer = await worker.call({ buffer, offset, length: bytes.length, fileName, firstVolumeOnly }, [buffer]);
  if (!answer.ok) throw new Error(`no answer within ${CASE_LIMIT_MS} ms: the loader hangs on this input`);
  const o = answer.reply;
  const counts = tally.get(category) ?? new Map<string, number>();
  const key = o.kind === 'scan-error' ? o.code : o.kind;
  counts.set(key, (counts.get(key) ?? 0) + 1);
  tally.set(category, counts);
  if (o.hugeAllocations.length > 0)
    throw new Error(
      `a ${bytes.length}-byte file asked for ${o.hugeAllocations.join(', ')} (outcome: ${o.kind === 'scan-error' ? o.code : o.kind})`,
    );
  if (o.kind === 'crash') throw new Error(`threw something other than a ScanError:\n${o.error}`);
  if (o.kind === 'volume' && o.problems.length > 0)
    throw new Error(`accepted an invalid volume: ${o.problems.join('; ')}`);
  if (o.kind === 'scan-error' && !o.message.includes(fileName))
    throw new Error(`ScanError ${o.code} does not name the file: ${o.message}`);
  return o;
}

const SCALE = Number(process.env.QUMRI_FUZZ_SCALE ?? 1);
/**
 * A property normally takes a second or two. The time limit bounds shrinking a hang (each try
 * costs the 2 s deadline) so the seed and path still get printed; a run it cuts short fails.
 */
const PROPERTY_MS = 60_000 * SCALE;
const runs = (n: number) => ({
  seed: SEED,
  numRuns: Math.round(n * SCALE),
  interruptAfterTimeLimit: PROPERTY_MS,
  markInterruptAsFailure: true,
});

/** Enough different outcomes that the cases reach past the first check of the loader. */
function expectSpread(category: string, minCodes: number): void {
  const counts = tally.get(category) ?? new Map<string, number>();
  expect(counts.get('volume') ?? 0, `${category}: some damaged files still load`).toBeGreaterThan(0);
  expect(counts.size, `${category}: outcomes ${JSON.stringify([...counts])}`).toBeGreaterThanOrEqual(minCodes);
}

const offset = fc.integer({ min: 0, max: 7 });
const gzipSometimes = fc.oneof(
  { arbitrary: fc.constant(false), weight: 3 },
  { arbitrary: fc.constant(true), weight: 1 },
);
const headerBytes = (b: BaseSpec) => (b.version === 1 ? 352 : 544) + b.extension;

describe('loader fuzz: NIfTI and gzip', () => {
  it(
    'the undamaged base files load (so damage is what the other cases test)',
    async () => {
      const arb = fc.record({ base: baseSpec(), gz: fc.option(gzipSpec), firstVolumeOnly: fc.boolean(), offset });
      await fc.assert(
        fc.asyncProperty(arb, async ({ base, gz, firstVolumeOnly, offset: at }) => {
          const raw = buildNifti(base);
          const o = await parseInWorker('base', gz ? gzipWith(raw, gz) : raw, 'base.nii', firstVolumeOnly, at);
          const multi = base.dims.length > 3 && base.dims[3] > 1 && !firstVolumeOnly;
          expect(o.kind === 'scan-error' ? o.code : o.kind).toBe(multi ? 'dims-multivolume' : 'volume');
        }),
        runs(150),
      );
    },
    2 * PROPERTY_MS,
  );

  for (const [version, n] of [
    [1, 800],
    [2, 600],
  ] as const) {
    it(
      `NIfTI-${version}: ${n} files with damaged header fields, flipped bits, overwritten bytes, truncation, extension`,
      async () => {
        const arb = fc.record({
          base: baseSpec(version),
          mutations: niftiMutations(version),
          gzip: gzipSometimes,
          firstVolumeOnly: fc.boolean(),
          offset,
        });
        await fc.assert(
          fc.asyncProperty(arb, async ({ base, mutations, gzip, firstVolumeOnly, offset: at }) => {
            const bytes = mutate(buildNifti(base), mutations, version, base.le, headerBytes(base));
            await parseInWorker(
              `NIfTI-${version}`,
              gzip ? gzipWith(bytes, { level: 6, flags: 0 }) : bytes,
              gzip ? 'fuzz.nii.gz' : 'fuzz.nii',
              firstVolumeOnly,
              at,
            );
          }),
          runs(n),
        );
        expectSpread(`NIfTI-${version}`, 10);
      },
      2 * PROPERTY_MS,
    );
  }

  it(
    'gzip: 600 truncated or corrupted streams (header, deflate data, CRC32 and length trailer)',
    async () => {
      const arb = fc.record({ base: baseSpec(), gz: gzipSpec, mutations: gzipMutations, offset });
      await fc.assert(
        fc.asyncProperty(arb, async ({ base, gz, mutations, offset: at }) => {
          const bytes = mutateGzip(gzipWith(buildNifti(base), gz), mutations, gzipHeaderBytes(gz.flags));
          await parseInWorker('gzip', bytes, 'fuzz.nii.gz', false, at);
        }),
        runs(600),
      );
      expectSpread('gzip', 4);
    },
    2 * PROPERTY_MS,
  );

  afterAll(() => {
    for (const [category, counts] of tally) {
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      console.log(
        `${category}: ${total} cases → ${[...counts]
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    }
  });
});

describe('loader fuzz: inputs that broke the loader', () => {
  const base: BaseSpec = {
    version: 1,
    le: false,
    code: 2,
    dims: [2, 2, 2],
    spacing: [0.5, 0.5, 0.5],
    quat: [0, 0, 0],
    qfac: 1,
    qformCode: 0,
    sformCode: 0,
    slope: 0,
    inter: 0,
    units: 0,
    extension: 0,
    seed: 0,
  };

  it('a .nii.gz cut to 98 bytes, whose last four read as 134,218,240, is truncated without a 128 MiB allocation', async () => {
    const cut = gzipWith(buildNifti(base), { level: 0, flags: 8 }).slice(0, 98);
    expect(new DataView(cut.buffer).getUint32(94, true)).toBe(134_218_240);
    const o = await parseInWorker('regressions', cut, 'cut.nii.gz', false, 0);
    expect(o.kind === 'scan-error' ? o.code : o.kind).toBe('gzip-truncated');
  });
});
