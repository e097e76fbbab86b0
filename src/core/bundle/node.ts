/** Node-only bundle sources: a folder on disk, and the shipped models under public/models. */
import { readFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { BundleSource } from './index.ts';

/** public/models of this checkout. */
export const SHIPPED_MODELS = fileURLToPath(new URL('../../../public/models/', import.meta.url));

export function dirSource(dir: string): BundleSource {
  return { label: dir, read: async (name) => new Uint8Array(await readFile(path.join(dir, name))) };
}

/** `--model` as a bundle folder (one holding manifest.json) or a shipped model id. */
export function resolveModel(model: string, modelsRoot = SHIPPED_MODELS): BundleSource {
  if (existsSync(path.join(model, 'manifest.json'))) return dirSource(path.resolve(model));
  const shipped = path.join(modelsRoot, model);
  if (/^[A-Za-z0-9._-]+$/.test(model) && existsSync(path.join(shipped, 'manifest.json'))) return dirSource(shipped);
  if (existsSync(model) && statSync(model).isDirectory())
    throw new Error(`--model ${model}: the folder has no manifest.json`);
  throw new Error(`--model ${model}: neither a bundle folder nor a shipped model id (see \`qumri models\`)`);
}
