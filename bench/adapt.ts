/**
 * `npm run bench:adapt`: issue 22's budget, adapting a shipped 3D model on 8 scans (4 per class) in
 * ≤ 60 s on this CPU, preprocessing included. The 8 scans are phantoms from the synth generator
 * (calibrated look, the model's task and sequence), written to a temporary folder before the clock
 * starts; the clock covers one `qumri adapt` process from spawn to exit (tsx start, model load,
 * reading and preprocessing every scan, the backbone once per scan with an empty feature cache, the
 * cross-validated fine-tuning, writing the bundle). One run, as a site would run it. Prints the wall
 * time and its ratio to the budget; writes bench/results/adapt.json.
 *
 *   npm run bench:adapt                    # first shipped 3D FLAIR model with a quantum head
 *   npm run bench:adapt -- --model DIR     # any bundle folder (or shipped id)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Manifest } from '../src/core/bundle/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const BUDGET_S = 60;
const PER_CLASS = 4;
const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);

/** The bundle folder: --model (a folder or a shipped id), else the first shipped 3D FLAIR model whose head has a quantum layer. */
function bundleDir(): string {
  const given = arg('--model');
  if (given) return existsSync(join(given, 'manifest.json')) ? given : join(root, 'public/models', given);
  const models = join(root, 'public/models');
  for (const id of (JSON.parse(readFileSync(join(models, 'index.json'), 'utf8')) as { models: string[] }).models) {
    const m = JSON.parse(readFileSync(join(models, id, 'manifest.json'), 'utf8')) as Manifest;
    const head = JSON.parse(readFileSync(join(models, id, 'head.json'), 'utf8')) as { layers: { type: string }[] };
    if (m.dims === 3 && m.sequence === 'FLAIR' && head.layers.some((l) => l.type === 'quantum'))
      return join(models, id);
  }
  throw new Error('no shipped 3D FLAIR model with a quantum head: pass --model DIR');
}

const dir = bundleDir();
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
const task = manifest.classes[1].toLowerCase();
if (!['ms', 'tsc'].includes(task))
  throw new Error(`${manifest.id}: the generator makes MS or TSC phantoms, not ${manifest.classes[1]}`);
const tmp = mkdtempSync(join(tmpdir(), 'qumri-bench-adapt-'));
try {
  // Odd subject indices are patients, even ones controls: n = 8 gives 4 of each.
  const cohort = join(tmp, 'cohort');
  console.log(`generating ${2 * PER_CLASS} ${task} ${manifest.sequence} phantoms (not timed)…`);
  execFileSync(
    '/usr/bin/python3',
    [
      '-m',
      'synth',
      '--task',
      task,
      '--sequence',
      manifest.sequence.toLowerCase(),
      '--n',
      String(2 * PER_CLASS),
      '--out',
      cohort,
      '--seed',
      '22',
      '--workers',
      '1',
      '--quiet',
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, OMP_NUM_THREADS: '1' } },
  );
  const rows = readFileSync(join(cohort, 'manifest.csv'), 'utf8').trim().split('\n');
  const cols = rows[0].split(',');
  const labels = [
    'file,label',
    ...rows
      .slice(1)
      .map((r) => r.split(','))
      .map((c) => `${c[cols.indexOf('path')]},${manifest.classes[Number(c[cols.indexOf('label')])]}`),
  ];
  writeFileSync(join(cohort, 'labels.csv'), labels.join('\n') + '\n');

  const load = loadavg()[0];
  const t0 = performance.now();
  const run = spawnSync(
    process.execPath,
    [
      join(root, 'bin/qumri.mjs'),
      'adapt',
      '--model',
      dir,
      '--train',
      join(cohort, 'labels.csv'),
      '--out',
      join(tmp, 'adapted'),
      '--cache',
      join(tmp, 'cache'),
      '--json',
    ],
    { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const wallS = (performance.now() - t0) / 1000;
  if (run.status !== 0) throw new Error(`qumri adapt exited ${run.status}:\n${run.stderr}`);
  const featureS = [...run.stderr.matchAll(/features in ([\d.]+) s/g)].reduce((s, m) => s + Number(m[1]), 0);
  const card = (JSON.parse(run.stdout) as { card: Record<string, unknown> }).card;
  const ratio = wallS / BUDGET_S;
  console.log(
    `bench:adapt — ${manifest.id} on ${2 * PER_CLASS} phantoms (${PER_CLASS} per class), cold feature cache, ${cpus().length} CPUs, load average ${load.toFixed(2)} at start`,
  );
  console.log(
    `  qumri adapt wall time ${wallS.toFixed(1)} s (of which reading, preprocessing and backbone ${featureS.toFixed(1)} s); budget ${BUDGET_S} s: ratio ${ratio.toFixed(2)}, ${ratio <= 1 ? 'met' : 'missed'}`,
  );
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const out = {
    date: new Date().toISOString(),
    commit: execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim(),
    cpus: cpus().length,
    loadavgAtStart: load,
    model: manifest.id,
    scans: {
      perClass: PER_CLASS,
      generator: `python -m synth --task ${task} --sequence ${manifest.sequence.toLowerCase()} --n ${2 * PER_CLASS} --seed 22 (calibrated look)`,
    },
    wallS,
    featureS,
    budgetS: BUDGET_S,
    ratio,
    card,
  };
  writeFileSync(join(root, 'bench/results/adapt.json'), JSON.stringify(out, null, 1));
  console.log('wrote bench/results/adapt.json');
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
