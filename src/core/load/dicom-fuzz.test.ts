/**
 * Loader fuzzing, DICOM side (issue 19, item 6): damaged DICOM series go the way a drop goes in
 * the page (load-controller.ts): planInput sorts the files, then the load worker's real
 * convertDicom and loadSeries (or loadNifti) run them. Every case must end in a ScanError code or
 * a valid volume, never 'internal' (the code for any other exception), within 2 s: convertDicom
 * gets a 2 s deadline (plus its allowance per MB), and a conversion it stops there must end in its
 * 'dicom-convert' ScanError.
 *
 * What runs: dcm2niix is the app's own WebAssembly build, run in a node worker thread by a
 * stand-in for @niivue/dcm2niix's small browser wrapper (fuzz/dcm2niix-in-node.ts), with an
 * Emscripten instance per Dcm2niix instance as the package has a Web Worker per instance;
 * Comlink is replaced by direct calls. Not run: the package's Web Worker glue (FileReader,
 * postMessage), which the e2e tests cover.
 *
 * Seeded like nifti-fuzz.test.ts: QUMRI_FUZZ_SEED / QUMRI_FUZZ_SCALE; a failure prints seed and path.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { CASE_LIMIT_MS } from './fuzz/watched-worker.ts';
import { conversions, stopDcm2niix } from './fuzz/dcm2niix-in-node.ts';
import {
  buildSeries,
  dicomMutations,
  mutateSeries,
  seriesSpec,
  type DicomFile,
  type SeriesSpec,
} from './fuzz/dicom-cases.ts';
import { scanProblems } from './fuzz/check-scan.ts';
import { planInput } from '../../display/load/classify-input.ts';
import { CONVERT_DEADLINE, convertDicom, loadSeries, parseSidecar, type ConvertDeadline } from './dicom.ts';
import { loadNifti } from './load-result.ts';
import type { LoadResult } from '../protocol.ts';

vi.mock('@niivue/dcm2niix', () => import('./fuzz/dcm2niix-in-node.ts'));

const SEED = Number(process.env.QUMRI_FUZZ_SEED ?? 190_006);
const SCALE = Number(process.env.QUMRI_FUZZ_SCALE ?? 1);
/** A run normally takes about 20 s; the limit bounds shrinking a slow case (see nifti-fuzz.test.ts). */
const PROPERTY_MS = 120_000 * SCALE;
const runs = (n: number) => ({
  seed: SEED,
  numRuns: Math.round(n * SCALE),
  interruptAfterTimeLimit: PROPERTY_MS,
  markInterruptAsFailure: true,
});

/**
 * dcm2niix takes seconds on some small damaged files (3.7 s here for an 826-byte slice whose
 * SeriesNumber has length 0): convertDicom stops it at the case's bound instead of its own 10 s.
 */
const FUZZ_DEADLINE: ConvertDeadline = { ...CONVERT_DEADLINE, baseMs: CASE_LIMIT_MS };

afterAll(() => stopDcm2niix());

const tally = new Map<string, number>();
const count = (key: string) => tally.set(key, (tally.get(key) ?? 0) + 1);

/** Counts the result; throws for anything but a ScanError code or a valid volume. */
function judge(step: string, r: LoadResult): void {
  if (!r.ok) {
    if (r.error.code === 'internal')
      throw new Error(`${step} failed with something other than a ScanError: ${r.error.message}`);
    else count(r.error.code);
    return;
  }
  const problems = scanProblems(r.scan);
  if (problems.length > 0) throw new Error(`${step} accepted an invalid volume: ${problems.join('; ')}`);
  count('volume');
}

/** What load-controller.ts does with dropped files, short of the page. */
async function loadDrop(files: DicomFile[]): Promise<void> {
  conversions.stopped = 0;
  conversions.overran = 0;
  conversions.ms = 0;
  const t0 = performance.now();
  const plan = planInput(files.map(({ name, bytes }) => ({ name, head: bytes.subarray(0, 132) })));
  if (plan.kind === 'error') {
    count('refused by planInput');
  } else if (plan.kind === 'nifti') {
    const { name, bytes } = files[plan.index];
    const r = loadNifti(bytes, name);
    judge(
      'loadNifti',
      !r.ok && r.error.options.canTakeFirstVolume ? loadNifti(bytes, name, { firstVolumeOnly: true }) : r,
    );
  } else {
    const res = await convertDicom(asInput(plan.indices.map((i) => files[i])), FUZZ_DEADLINE);
    if (conversions.overran > 0) throw new Error('dcm2niix ran on past the deadline: convertDicom did not stop it');
    if (conversions.live > 0) throw new Error('convertDicom left a dcm2niix worker running');
    if (conversions.stopped > 0) {
      if (res.ok || res.error.code !== 'dicom-convert' || !res.error.message.startsWith('DICOM conversion stopped')) {
        throw new Error(
          `convertDicom stopped dcm2niix but answered ${JSON.stringify(res.ok ? res.series : res.error)}`,
        );
      }
      count('stopped at the deadline');
    } else if (!res.ok) {
      judge('convertDicom', res);
    } else {
      count(`converted (${res.series.length} series)`);
      for (const s of res.series) {
        const r = loadSeries(s.id);
        judge(
          `loadSeries ${s.fileName}`,
          !r.ok && r.error.options.canTakeFirstVolume ? loadSeries(s.id, { firstVolumeOnly: true }) : r,
        );
      }
    }
  }
  // The conversion has its own deadline; this bounds everything else the case ran.
  const ms = performance.now() - t0 - conversions.ms;
  if (ms > CASE_LIMIT_MS)
    throw new Error(`the case took ${Math.round(ms)} ms besides dcm2niix, over the ${CASE_LIMIT_MS} ms bound`);
}

const asInput = (files: DicomFile[]) => files.map((f) => ({ file: new File([f.bytes.slice()], f.name), path: f.name }));

const small: SeriesSpec = {
  dims: [3, 3, 2],
  spacing: [0.5, 0.5, 1],
  orientation: 'axial',
  description: 'AX FLAIR',
  twoSeries: false,
  seed: 0,
};

describe('loader fuzz: DICOM through dcm2niix (WebAssembly) and the load worker', () => {
  it(
    'the undamaged series convert and load',
    async () => {
      await fc.assert(
        fc.asyncProperty(seriesSpec, async (spec) => {
          tally.clear();
          await loadDrop(buildSeries(spec));
          expect(Object.fromEntries(tally)).toEqual({
            [`converted (${spec.twoSeries ? 2 : 1} series)`]: 1,
            volume: spec.twoSeries ? 2 : 1,
          });
        }),
        runs(15),
      );
      tally.clear();
    },
    2 * PROPERTY_MS,
  );

  it(
    '200 damaged series: elements replaced, lengths overwritten, bits flipped, files truncated, dropped, duplicated, replaced',
    async () => {
      await fc.assert(
        fc.asyncProperty(seriesSpec, dicomMutations, async (spec, mutations) => {
          await loadDrop(mutateSeries(buildSeries(spec), mutations));
        }),
        runs(200),
      );
      const outcomes = [...tally]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      console.log(
        `DICOM: ${Math.round(200 * SCALE)} cases → ${outcomes}; dcm2niix aborted ${conversions.aborts} time(s)`,
      );
      expect(tally.get('volume') ?? 0, outcomes).toBeGreaterThan(0);
      expect(tally.size, outcomes).toBeGreaterThanOrEqual(4);
    },
    2 * PROPERTY_MS,
  );

  it('drop after drop: each conversion gets a fresh dcm2niix (the package cannot run twice on one) whose worker is terminated after', async () => {
    for (const description of ['AX FLAIR', 'AX T2 TSE', 'sag 3D FLAIR']) {
      const res = await convertDicom(asInput(buildSeries({ ...small, description })));
      expect(res.ok ? res.series.map((s) => s.seriesDescription) : `${res.error.code}: ${res.error.message}`).toEqual([
        description,
      ]);
      expect(conversions.live, 'dcm2niix workers left running').toBe(0);
    }
  });

  it('a conversion still running at its deadline (10 s plus 2 s per MB; here shorter) is stopped: worker terminated, a dicom-convert ScanError, and the next drop converts', async () => {
    // Also starts the conversion thread, so that the short deadline below falls in the conversion.
    expect((await convertDicom(asInput(buildSeries(small)))).ok).toBe(true);
    const files = asInput(buildSeries(small));
    const bytes = files.reduce((n, f) => n + f.file.size, 0);
    conversions.stopped = 0;
    conversions.overran = 0;
    conversions.stallNext = true;
    // 100 ms, plus 200 ms for these bytes: 0.3 s.
    const res = await convertDicom(files, { baseMs: 100, msPerMB: 2e8 / bytes });
    expect(res.ok ? 'converted' : `${res.error.code}: ${res.error.message}`).toMatch(
      /^dicom-convert: DICOM conversion stopped: .* within 0\.3 s/,
    );
    expect(conversions).toMatchObject({ stopped: 1, overran: 0, live: 0 });
    const next = await convertDicom(asInput(buildSeries(small)));
    expect(next.ok ? next.series.length : next.error.message).toBe(1);
  });

  it('control characters in SeriesDescription and ProtocolName (dcm2niix writes a tab as "\\9", others raw in its sidecar) are kept', async () => {
    const text = (t: string) => Uint8Array.from(t, (c) => c.charCodeAt(0));
    const files = mutateSeries(buildSeries(small), [
      { op: 'element', tag: 'SeriesDescription', value: text('AX\tFLAIR'), allFiles: true, file: 0 },
      { op: 'element', tag: 'ProtocolName', value: text('prot\u0017col'), allFiles: true, file: 0 },
    ]);
    const res = await convertDicom(asInput(files));
    expect(
      res.ok ? res.series.map((s) => [s.seriesDescription, s.protocolName]) : `${res.error.code}: ${res.error.message}`,
    ).toEqual([['AX\tFLAIR', 'prot\u0017col']]);
  });
});

describe("parseSidecar: dcm2niix's JSON with its deviations", () => {
  it('repairs a tab written as \\9, raw control characters and bare nan/inf', () => {
    const text =
      '{\n\t"SeriesDescription": "AX\\9FLAIR\u0001",\n\t"Path": "C:\\\\9x",\n\t"EchoTime": nan,\n\t"RepetitionTime": -nan,\n\t"FlipAngle": inf,\n\t"ProtocolName": "nan inf",\n\t"SeriesNumber": 3\n}';
    expect(parseSidecar(text)).toEqual({
      SeriesDescription: 'AX\tFLAIR\u0001',
      Path: 'C:\\9x',
      EchoTime: null,
      RepetitionTime: null,
      FlipAngle: null,
      ProtocolName: 'nan inf',
      SeriesNumber: 3,
    });
  });

  it('gives an empty sidecar for what it cannot repair, or for JSON that is not an object', () => {
    expect(parseSidecar('{"SeriesDescription": "cut off')).toEqual({});
    expect(parseSidecar('')).toEqual({});
    expect(parseSidecar('[1, 2]')).toEqual({});
    expect(parseSidecar('null')).toEqual({});
  });
});
