/**
 * models/withdrawn.json: the bundles the shipping rule (training/shipping.py: test AUC 95 % interval
 * above a floor) took out of index.json, with their numbers, so the page can say why a plane has no
 * slice model instead of offering one, and `qumri models` can list them.
 */
import { BundleError } from './manifest.ts';
import type { Plane } from '../preprocess/slice2d.ts';

export interface WithdrawnBundle {
  id: string;
  name: string;
  task: string;
  sequence: string;
  dims: 2 | 3;
  /** A 2D bundle's slice plane; null for 3D. */
  plane: Plane | null;
  /** The architecture's name, e.g. "DenseNet121" or "QCNN". */
  family: string;
  head: string;
  /** Test AUC and its 95 % interval. */
  auc: number;
  ci95: [number, number];
}

export interface Withdrawn {
  /** The rule in words, e.g. "test AUC 95 % interval above 0.70". */
  rule: string;
  aucFloor: number;
  bundles: WithdrawnBundle[];
}

function fail(what: string, got: unknown): never {
  throw new BundleError(`models/withdrawn.json: expected ${what}, got ${JSON.stringify(got) ?? String(got)}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function entry(e: unknown, i: number): WithdrawnBundle {
  if (!isObject(e)) return fail(`withdrawn[${i}] to be an object`, e);
  for (const k of ['id', 'name', 'task', 'sequence', 'family', 'head'])
    if (typeof e[k] !== 'string') fail(`withdrawn[${i}].${k} to be a string`, e[k]);
  if (e.dims !== 2 && e.dims !== 3) fail(`withdrawn[${i}].dims to be 2 or 3`, e.dims);
  const plane =
    e.dims === 2
      ? e.plane === 'axial' || e.plane === 'sagittal'
        ? e.plane
        : fail(`withdrawn[${i}].plane to be "axial" or "sagittal"`, e.plane)
      : null;
  const ci = e.ci95;
  if (!isNumber(e.auc) || !Array.isArray(ci) || ci.length !== 2 || !ci.every(isNumber))
    fail(`withdrawn[${i}] to have a numeric auc and ci95`, { auc: e.auc, ci95: ci });
  return {
    id: e.id as string,
    name: e.name as string,
    task: e.task as string,
    sequence: e.sequence as string,
    dims: e.dims,
    plane,
    family: e.family as string,
    head: e.head as string,
    auc: e.auc as number,
    ci95: [ci[0] as number, ci[1] as number],
  };
}

export function parseWithdrawn(json: string): Withdrawn {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new BundleError(`models/withdrawn.json is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) return fail('an object', raw);
  if (typeof raw.rule !== 'string') fail('rule to be a string', raw.rule);
  if (!isNumber(raw.auc_floor)) fail('auc_floor to be a number', raw.auc_floor);
  if (!Array.isArray(raw.withdrawn)) fail('withdrawn to be a list', raw.withdrawn);
  return {
    rule: raw.rule as string,
    aucFloor: raw.auc_floor as number,
    bundles: (raw.withdrawn as unknown[]).map(entry),
  };
}

/** "0.32 (0.12–0.56)" */
export function aucText(b: Pick<WithdrawnBundle, 'auc' | 'ci95'>): string {
  return `${b.auc.toFixed(2)} (${b.ci95[0].toFixed(2)}–${b.ci95[1].toFixed(2)})`;
}

/** What the slice panel says for a plane no shipped 2D model covers. */
export function noSliceModelText(plane: Plane, withdrawn: Withdrawn): string {
  const last = withdrawn.bundles.filter((b) => b.dims === 2 && b.plane === plane);
  const said = `No ${plane} 2D model passes the shipping rule (${withdrawn.rule}).`;
  return last.length
    ? `${said} The last candidates: ${last.map((b) => `${b.family} ${aucText(b)}`).join(', ')}.`
    : said;
}

/**
 * The slice plane a 2D model's name gives ("…, FLAIR axial slice (224×224)": manifests have no field
 * for it), or null when it names none: such a model is offered for both planes.
 */
export function namedPlane(name: string): Plane | null {
  return (['axial', 'sagittal'] as const).find((p) => name.includes(` ${p} slice`)) ?? null;
}
