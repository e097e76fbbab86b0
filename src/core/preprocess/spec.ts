/** The preprocessing spec (docs/preprocess-spec.md): its type, defaults and a strict parser. */

export type ResampleRule = 'resize' | 'fixed_spacing';
export type BrainExtraction = 'auto' | 'on' | 'off';

export interface PreprocessSpec {
  /** Output voxels [nx, ny, nz]. */
  grid: [number, number, number];
  orientation: 'RAS';
  resample: ResampleRule;
  /** Output voxel size for `fixed_spacing`; null for `resize`. */
  spacing_mm: [number, number, number] | null;
  brain_extraction: BrainExtraction;
  normalize:
    | { method: 'percentile'; low: number; high: number }
    | { method: 'reference'; low: number; reference: number; value: number };
}

export const DEFAULT_SPEC: Readonly<PreprocessSpec> = Object.freeze<PreprocessSpec>({
  grid: [128, 128, 128],
  orientation: 'RAS',
  resample: 'resize',
  spacing_mm: null,
  brain_extraction: 'auto',
  normalize: { method: 'percentile', low: 0.5, high: 99.5 },
});

const KEYS = ['grid', 'orientation', 'resample', 'spacing_mm', 'brain_extraction', 'normalize'];

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function triple(name: string, x: unknown, integer: boolean): [number, number, number] {
  const arr = typeof x === 'number' ? [x, x, x] : x;
  if (!Array.isArray(arr) || arr.length !== 3) {
    throw new Error(`preprocess spec: ${name} must be a number or an array of 3 numbers, got ${JSON.stringify(x)}`);
  }
  for (const v of arr) {
    const ok = typeof v === 'number' && Number.isFinite(v) && v > 0 && (!integer || (Number.isInteger(v) && v <= 4096));
    if (!ok) {
      const what = integer ? 'positive integers ≤ 4096' : 'positive finite numbers';
      throw new Error(`preprocess spec: ${name} must hold ${what}, got ${JSON.stringify(x)}`);
    }
  }
  return [arr[0], arr[1], arr[2]];
}

function oneOf<T extends string>(name: string, x: unknown, allowed: readonly T[], fallback: T): T {
  if (x === undefined) return fallback;
  if (typeof x !== 'string' || !(allowed as readonly string[]).includes(x)) {
    throw new Error(`preprocess spec: ${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(x)}`);
  }
  return x as T;
}

function percentileField(name: string, x: unknown, fallback: number): number {
  const v = x === undefined ? fallback : x;
  if (typeof v !== 'number' || !(v >= 0 && v <= 100)) {
    throw new Error(`preprocess spec: normalize.${name} must be a percentile in [0, 100], got ${JSON.stringify(x)}`);
  }
  return v;
}

function parseNormalize(x: unknown): PreprocessSpec['normalize'] {
  if (x === undefined) return { ...DEFAULT_SPEC.normalize };
  if (!isObject(x)) throw new Error(`preprocess spec: normalize must be an object, got ${JSON.stringify(x)}`);
  const method = oneOf('normalize.method', x.method, ['percentile', 'reference'] as const, 'percentile');
  const fields = method === 'percentile' ? ['method', 'low', 'high'] : ['method', 'low', 'reference', 'value'];
  for (const k of Object.keys(x)) {
    if (!fields.includes(k)) {
      throw new Error(`preprocess spec: normalize method '${method}' has no key '${k}' (known: ${fields.join(', ')})`);
    }
  }
  const low = percentileField('low', x.low, 0.5);
  if (method === 'percentile') {
    const high = percentileField('high', x.high, 99.5);
    if (!(low < high)) throw new Error(`preprocess spec: normalize needs low < high, got low=${low} high=${high}`);
    return { method, low, high };
  }
  const reference = percentileField('reference', x.reference, 50);
  const value = x.value === undefined ? 0.4 : x.value;
  if (!(low < reference)) {
    throw new Error(`preprocess spec: normalize needs low < reference, got low=${low} reference=${reference}`);
  }
  if (typeof value !== 'number' || !(value > 0 && value < 1)) {
    throw new Error(`preprocess spec: normalize.value must lie in (0, 1), got ${JSON.stringify(x.value)}`);
  }
  return { method, low, reference, value };
}

/** Validate a spec (a bundle's `manifest.preprocess` or a spec.json) and fill in defaults. */
export function parsePreprocessSpec(json: unknown): PreprocessSpec {
  const obj = json === undefined || json === null ? {} : json;
  if (!isObject(obj)) throw new Error(`preprocess spec must be a JSON object, got ${JSON.stringify(json)}`);
  for (const k of Object.keys(obj)) {
    if (!KEYS.includes(k)) throw new Error(`preprocess spec: unknown key '${k}' (known: ${KEYS.join(', ')})`);
  }
  const grid =
    obj.grid === undefined ? ([...DEFAULT_SPEC.grid] as [number, number, number]) : triple('grid', obj.grid, true);
  const orientation = oneOf('orientation', obj.orientation, ['RAS'] as const, 'RAS');
  const resample = oneOf('resample', obj.resample, ['resize', 'fixed_spacing'] as const, 'resize');
  const spacing_mm =
    obj.spacing_mm === undefined || obj.spacing_mm === null ? null : triple('spacing_mm', obj.spacing_mm, false);
  if (resample === 'fixed_spacing' && spacing_mm === null) {
    throw new Error('preprocess spec: resample "fixed_spacing" needs spacing_mm (e.g. [1.5, 1.5, 1.5])');
  }
  const brain_extraction = oneOf('brain_extraction', obj.brain_extraction, ['auto', 'on', 'off'] as const, 'auto');
  return { grid, orientation, resample, spacing_mm, brain_extraction, normalize: parseNormalize(obj.normalize) };
}
