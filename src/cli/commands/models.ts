/**
 * `qumri models [--json]`: lists the shipped model bundles (public/models/index.json), then those the
 * shipping rule withdrew (withdrawn.json).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { listBundles, bundleBytes, type RegistryEntry } from '../../core/bundle/index.ts';
import { SHIPPED_MODELS } from '../../core/bundle/node.ts';
import { parseWithdrawn, type WithdrawnBundle } from '../../core/bundle/withdrawn.ts';

export const usage = `usage: qumri models [--json] [--root DIR]

Lists the model bundles shipped in public/models (or DIR): id, task, sequence, head, AUC, size; then
the bundles withdrawn for failing the shipping rule (DIR/withdrawn.json), with their AUC. --json
lists the shipped manifests only. Every bundle file's sha256 is checked when a model is used, not here.`;

const aucText = (auc: { value: number; ci95?: [number, number] }): string =>
  `AUC ${auc.value.toFixed(3)}${auc.ci95 ? ` [${auc.ci95[0].toFixed(3)}, ${auc.ci95[1].toFixed(3)}]` : ''}`;

function row(e: RegistryEntry): string {
  if (!e.manifest) return `${e.id}\tBROKEN: ${e.error}`;
  const m = e.manifest;
  const auc = m.metrics.auc;
  const data = m.training_data.synthetic ? 'synthetic data' : 'real data';
  return [
    m.id,
    m.task,
    m.sequence,
    `${m.dims}D`,
    m.architecture.head,
    typeof auc === 'object' && auc ? aucText(auc) : 'AUC n/a',
    `${(bundleBytes(m) / 2 ** 20).toFixed(1)} MiB`,
    data,
  ].join('\t');
}

function withdrawnRow(b: WithdrawnBundle): string {
  return [
    b.id,
    b.task,
    b.sequence,
    b.plane ? `${b.dims}D ${b.plane}` : `${b.dims}D`,
    b.head,
    aucText({ value: b.auc, ci95: b.ci95 }),
  ].join('\t');
}

export async function run(argv: string[]): Promise<number> {
  let root = SHIPPED_MODELS;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') json = true;
    else if (argv[i] === '--root' && argv[i + 1]) root = argv[++i];
    else {
      console.error(`qumri models: unknown argument ${argv[i]}\n\n${usage}`);
      return 2;
    }
  }
  if (!existsSync(path.join(root, 'index.json'))) {
    console.log(
      json
        ? '[]'
        : `no models shipped: ${path.join(root, 'index.json')} does not exist (export one with training/export.py)`,
    );
    return 0;
  }
  const entries = await listBundles({
    label: root,
    read: async (p) => new Uint8Array(await readFile(path.join(root, p))),
  }).catch((err: Error) => {
    throw new Error(`${path.join(root, 'index.json')}: ${err.message}`);
  });
  if (json)
    console.log(
      JSON.stringify(
        entries.map((e) => (e.manifest ? { ...e.manifest, files: undefined } : e)),
        null,
        1,
      ),
    );
  else if (entries.length === 0) console.log(`no models listed in ${path.join(root, 'index.json')}`);
  else for (const e of entries) console.log(row(e));
  const withdrawnPath = path.join(root, 'withdrawn.json');
  if (!json && existsSync(withdrawnPath)) {
    const w = parseWithdrawn(await readFile(withdrawnPath, 'utf8'));
    if (w.bundles.length)
      console.log(`\nwithdrawn, failing the shipping rule (${w.rule}):\n${w.bundles.map(withdrawnRow).join('\n')}`);
  }
  return entries.some((e) => e.error) ? 1 : 0;
}
