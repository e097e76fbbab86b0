/**
 * A preview server for the inference e2e tests: a copy of the built app (e2e/artifacts/dist) whose
 * models/ folder also holds the tiny test bundles and deliberately broken ones, served by
 * `vite preview` (same COOP/COEP headers as the real app) on a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(root, 'fixtures/bundles');

export function copyBundle(
  from: string,
  to: string,
  patch: (m: Record<string, unknown>) => void = () => undefined,
): void {
  mkdirSync(to, { recursive: true });
  const m = JSON.parse(readFileSync(join(from, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  for (const f of Object.keys(m.files as Record<string, unknown>)) cpSync(join(from, f), join(to, f));
  patch(m);
  writeFileSync(join(to, 'manifest.json'), JSON.stringify(m));
}

/**
 * Test models added to the app's: good tiny bundles (3D quantum, 3D classical, 2D slice, a head with
 * two quantum layers, training/export.py's 3D ResNet with Grad-CAM at an inner stage), a tampered one,
 * a broken manifest, one missing a file.
 */
export const TEST_MODELS = [
  'tiny-q',
  'tiny-c',
  'tiny-2d',
  'tiny-qq',
  'tiny-qresnet',
  'tiny-q-tampered',
  'broken-json',
  'missing-file',
];

/**
 * tiny-q with a second quantum layer: dense → quantum (the same circuit read out as ⟨Z⟩ per qubit,
 * 2 values) → quantum (as tiny-q's, parity) → pair_logits. The format allows any number of quantum
 * layers; the shipped heads have one.
 */
function addTwoQuantumLayers(models: string): void {
  const dir = join(models, 'tiny-qq');
  copyBundle(join(FIXTURES, 'tiny-q'), dir);
  const head = JSON.parse(readFileSync(join(dir, 'head.json'), 'utf8')) as {
    layers: { type: string; circuit?: { readout: string } }[];
  };
  const q = head.layers.findIndex((l) => l.type === 'quantum');
  const first = structuredClone(head.layers[q]);
  first.circuit!.readout = 'z';
  head.layers.splice(q, 0, first);
  const text = JSON.stringify(head);
  writeFileSync(join(dir, 'head.json'), text);
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown> & {
    files: Record<string, { sha256: string; bytes: number }>;
  };
  m.id = 'tiny-qq';
  m.name = 'Tiny test bundle with two quantum layers (random weights)';
  m.files['head.json'] = { sha256: createHash('sha256').update(text).digest('hex'), bytes: Buffer.byteLength(text) };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
}

function addTestModels(models: string): void {
  const index = existsSync(join(models, 'index.json'))
    ? (JSON.parse(readFileSync(join(models, 'index.json'), 'utf8')) as { models: string[] })
    : { models: [] };
  copyBundle(join(FIXTURES, 'tiny-q'), join(models, 'tiny-q'));
  copyBundle(join(FIXTURES, 'tiny-c'), join(models, 'tiny-c'));
  copyBundle(join(FIXTURES, 'tiny-2d'), join(models, 'tiny-2d'));
  addTwoQuantumLayers(models);
  copyBundle(join(FIXTURES, 'tiny-qresnet'), join(models, 'tiny-qresnet'));
  copyBundle(join(FIXTURES, 'tiny-q'), join(models, 'tiny-q-tampered'), (m) => {
    m.id = 'tiny-q-tampered';
    m.name = 'Tiny quantum test bundle (tampered backbone)';
  });
  const onnx = readFileSync(join(models, 'tiny-q-tampered', 'backbone.onnx'));
  onnx[onnx.length - 20] ^= 0x55; // same size, different bytes: only the sha256 can tell
  writeFileSync(join(models, 'tiny-q-tampered', 'backbone.onnx'), onnx);
  mkdirSync(join(models, 'broken-json'), { recursive: true });
  writeFileSync(join(models, 'broken-json', 'manifest.json'), '{"format": "qumri-bundle/1", "id": ');
  copyBundle(join(FIXTURES, 'tiny-c'), join(models, 'missing-file'), (m) => {
    m.id = 'missing-file';
    m.name = 'Tiny classical test bundle (head.json missing)';
  });
  rmSync(join(models, 'missing-file', 'head.json'));
  writeFileSync(
    join(models, 'index.json'),
    JSON.stringify({ models: [...TEST_MODELS, ...index.models.filter((id) => !TEST_MODELS.includes(id))] }),
  );
}

export interface TestServer {
  url: string;
  dist: string;
  stop(): void;
}

/** The e2e server: the app's build plus the test bundles. */
export function startTestServer(): Promise<TestServer> {
  return startServer(process.env.QUMRI_E2E_DIST ?? join(root, 'e2e', 'artifacts', 'dist'), addTestModels);
}

/** Serves a copy of the build in `built` after `prepareModels` changed its models/ folder. */
export async function startServer(built: string, prepareModels: (modelsDir: string) => void): Promise<TestServer> {
  if (!existsSync(join(built, 'index.html')))
    throw new Error(`${built} has no build: run node e2e/run.mjs (it builds first)`);
  const dist = join(mkdtempSync(join(tmpdir(), 'qumri-e2e-inference-')), 'dist');
  cpSync(built, dist, { recursive: true });
  mkdirSync(join(dist, 'models'), { recursive: true });
  prepareModels(join(dist, 'models'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const child: ChildProcess = spawn(
    join(root, 'node_modules', '.bin', 'vite'),
    ['preview', '--outDir', dist, '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    { cwd: root, stdio: 'ignore', detached: true },
  );
  const end = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      if (Date.now() > end) throw new Error(`test preview server did not start at ${url}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    url,
    dist,
    stop() {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      rmSync(dirname(dist), { recursive: true, force: true });
    },
  };
}
