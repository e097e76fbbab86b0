/**
 * e2e for issue #8's float16 point ("float16 weights are fine where the probabilities stay within
 * 1e-3 of float32"), in the browser: every bundle served whose manifest says `"weights": "float16"`
 * classifies each of its reference inputs in the page (ORT Web on WASM, the TypeScript/WASM-kernel
 * head) to reference.json's torch probability ±1e-3, and to its float32 model's
 * (`probability_float32`) ±1e-3 where reference.json gives it.
 *
 * The bundles are the ones the page is served (models/index.json, manifests, reference files fetched
 * from the test server), read at run time: the build's copy of public/models plus the 2D fixture
 * tiny-qcnn-f16 (training/fixtures.py: paper B's CNN and quantum head, float16, torch references),
 * served only here, so the slice path is checked whether or not a 2D bundle passes the shipping rule.
 *
 * Route: the reference inputs are floats quantised to 1/256 (training/export.py reference_inputs,
 * values k/256 up to 1), which no 8-bit picture (level / 255) can carry, and the slice buttons cut
 * and rescale a volume to 8 bits. So the test hands the float tensor to
 * `window.qumriInference.classifySliceInput`, the slice panel's own call (bridge.classifySliceInput:
 * the inference worker on the 224×224×1 model grid, no preprocessing). A reference NIfTI on the model
 * grid holds the tensor as it is (index x + 224·y, docs/model-bundle.md), so its voxels go in
 * unchanged: float32 → number (through page.evaluate's JSON) → float32 is exact, bit for bit.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { copyBundle, startServer } from './inference-server.ts';
import { readNiftiHeader } from '../src/core/load/nifti-header.ts';
import { decodeVoxels } from '../src/core/load/datatypes.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = 'tiny-qcnn-f16';
const server = await startServer(process.env.QUMRI_E2E_DIST ?? join(root, 'e2e', 'artifacts', 'dist'), (models) => {
  copyBundle(join(root, 'fixtures/bundles', FIXTURE), join(models, FIXTURE));
  const index = JSON.parse(readFileSync(join(models, 'index.json'), 'utf8')) as { models: string[] };
  writeFileSync(join(models, 'index.json'), JSON.stringify({ models: [...index.models, FIXTURE] }));
});
process.env.QUMRI_E2E_URL = server.url;
// The harness reads QUMRI_E2E_URL when it loads, so it is imported after the server is up.
const harness = await import('./harness.ts');
const { baseUrl, run, test } = harness;
const assert: (cond: unknown, message: string) => asserts cond = harness.assert;

const TOLERANCE = 1e-3;

interface Manifest {
  id: string;
  dims: number;
  weights?: string;
  input: { shape: number[] };
  files: Record<string, { sha256: string; bytes: number }>;
  reference?: { file: string };
}

interface Reference {
  inputs: { file: string; probability: number; probability_float32?: number }[];
}

type SliceHook = {
  qumriInference: {
    classifySliceInput(id: string, input: number[]): Promise<{ probability: number; backend: string }>;
  };
};

const models = new URL('models/', baseUrl);

/**
 * A file's bytes as stored. Not fetch(): vite preview sends .gz files with Content-Encoding: gzip,
 * which fetch undoes, so a .nii.gz would no longer match its sha256.
 */
function fetchBytes(path: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    get(new URL(path, models), (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(new Uint8Array(Buffer.concat(chunks)))
          : reject(new Error(`GET models/${path}: HTTP ${res.statusCode}`)),
      );
      res.on('error', reject);
    }).on('error', reject);
  });
}

const fetchJson = async <T>(path: string): Promise<T> =>
  JSON.parse(new TextDecoder().decode(await fetchBytes(path))) as T;

/** A bundle file, checked against the manifest's sha256 so the expectations are the bundle's own. */
async function bundleFile(m: Manifest, file: string): Promise<Uint8Array> {
  const bytes = await fetchBytes(`${m.id}/${file}`);
  const sha = createHash('sha256').update(bytes).digest('hex');
  assert(
    sha === m.files[file]?.sha256,
    `${m.id}/${file} has sha256 ${sha}, the manifest says ${m.files[file]?.sha256}`,
  );
  return bytes;
}

/**
 * The voxels of a reference input: float32 NIfTI, unscaled, on the [H, W] model grid as W×H×1. The
 * page's scan reader (parseNifti) refuses 2D files, so the header and voxels are read with its parts.
 */
function readGridInput(raw: Uint8Array, name: string, [h, w]: number[]): Float32Array {
  const hdr = readNiftiHeader(raw, name);
  const dims = hdr.dim.slice(1, hdr.dim[0] + 1);
  assert(
    hdr.datatypeCode === 16 && dims[0] === w && dims[1] === h && dims.slice(2).every((d) => d === 1),
    `${name}: datatype ${hdr.datatypeCode} ${dims.join('×')}, not float32 on the ${h}×${w} model grid`,
  );
  assert(
    !(Number.isFinite(hdr.sclSlope) && hdr.sclSlope !== 0 && (hdr.sclSlope !== 1 || hdr.sclInter !== 0)),
    `${name}: scaled voxels (scl_slope ${hdr.sclSlope}, scl_inter ${hdr.sclInter})`,
  );
  return decodeVoxels(raw, hdr.voxOffset, w * h, 'float32', hdr.littleEndian, 1, 0);
}

const ids = (await fetchJson<{ models: string[] }>('index.json')).models;
const float16 = (await Promise.all(ids.map((id) => fetchJson<Manifest>(`${id}/manifest.json`)))).filter(
  (m) => m.weights === 'float16',
);

test(`the page is served every shipped float16 bundle and the 2D fixture ${FIXTURE}`, async () => {
  const shipped = (JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8')) as { models: string[] })
    .models;
  const wanted = [
    ...shipped.filter(
      (id) =>
        (JSON.parse(readFileSync(join(root, 'public/models', id, 'manifest.json'), 'utf8')) as Manifest).weights ===
        'float16',
    ),
    FIXTURE,
  ];
  const missing = wanted.filter((id) => !float16.some((m) => m.id === id));
  assert(missing.length === 0, `float16 bundles not served: ${missing.join(', ')} (served: ${ids.join(', ')})`);
});

for (const m of float16) {
  test(`float16 bundle ${m.id}: the page's probabilities on its reference inputs are torch's ±${TOLERANCE}`, async ({
    page,
  }) => {
    assert(
      m.dims === 2,
      `${m.id} is a ${m.dims}D float16 bundle: only 2D ones (the slice panel's path) are checked in the page`,
    );
    assert(m.reference, `${m.id} has no reference inputs`);
    const ref = JSON.parse(new TextDecoder().decode(await bundleFile(m, m.reference.file))) as Reference;
    assert(ref.inputs.length > 0, `${m.id}: reference.json lists no input`);
    await page.goto(new URL('?backend=wasm', baseUrl).toString());
    // The slice panel lists the bundle once the registry is read (and the worker configured).
    await page.waitForSelector(`[data-testid="slice-model"] option[value="${m.id}"]`, {
      state: 'attached',
      timeout: 60_000,
    });
    // No wait for the service worker's precache: a first visit classifies at once (first-visit.e2e.ts).
    const shape = m.input.shape.slice(2);
    const failures: string[] = [];
    for (const r of ref.inputs) {
      const input = Array.from(readGridInput(gunzipSync(await bundleFile(m, r.file)), `${m.id}/${r.file}`, shape));
      const got = await page.evaluate(
        ([id, x]) => (window as unknown as SliceHook).qumriInference.classifySliceInput(id, x),
        [m.id, input] as const,
      );
      assert(got.backend === 'wasm', `${m.id}: ran on ${got.backend}, not WASM`);
      const expected: [string, number][] = [['torch', r.probability]];
      if (r.probability_float32 !== undefined) expected.push(['torch float32', r.probability_float32]);
      console.log(
        `${m.id} ${r.file}: page ${got.probability.toFixed(6)}, ` +
          expected
            .map(([what, p]) => `${what} ${p.toFixed(6)} (|Δ| ${Math.abs(got.probability - p).toExponential(2)})`)
            .join(', ') +
          (r.probability_float32 === undefined ? ', no float32 reference' : ''),
      );
      // Negated so that a NaN probability fails too.
      for (const [what, p] of expected)
        if (!(Math.abs(got.probability - p) <= TOLERANCE))
          failures.push(`${r.file}: page ${got.probability} vs ${what} ${p}`);
    }
    assert(failures.length === 0, `${m.id} off by more than ${TOLERANCE}: ${failures.join('; ')}`);
  });
}

try {
  await run();
} finally {
  server.stop();
}
