import { describe, expect, it } from 'vitest';
import { parsePreprocessSpec } from './spec.ts';

describe('parsePreprocessSpec', () => {
  it('fills defaults', () => {
    expect(parsePreprocessSpec({})).toEqual({
      grid: [128, 128, 128],
      orientation: 'RAS',
      resample: 'resize',
      spacing_mm: null,
      brain_extraction: 'auto',
      normalize: { method: 'percentile', low: 0.5, high: 99.5 },
    });
    expect(parsePreprocessSpec(undefined).grid).toEqual([128, 128, 128]);
  });
  it('accepts a scalar grid and fixed spacing', () => {
    const s = parsePreprocessSpec({ grid: 64, resample: 'fixed_spacing', spacing_mm: 1.5 });
    expect(s.grid).toEqual([64, 64, 64]);
    expect(s.spacing_mm).toEqual([1.5, 1.5, 1.5]);
  });
  it("fills the reference method's defaults", () => {
    expect(parsePreprocessSpec({ normalize: { method: 'reference' } }).normalize).toEqual({
      method: 'reference',
      low: 0.5,
      reference: 50,
      value: 0.4,
    });
  });
  it.each([
    [{ grid: [128, 128] }, /grid/],
    [{ grid: [0, 1, 1] }, /grid/],
    [{ resample: 'stretch' }, /resample/],
    [{ resample: 'fixed_spacing' }, /spacing_mm/],
    [{ brain_extraction: true }, /brain_extraction/],
    [{ normalize: { low: 99, high: 1 } }, /low < high/],
    [{ normalize: { low: -1 } }, /normalize.low/],
    [{ normalize: { method: 'reference', low: 60 } }, /low < reference/],
    [{ normalize: { method: 'reference', value: 1 } }, /normalize.value/],
    [{ normalize: { method: 'reference', high: 99 } }, /no key 'high'/],
    [{ normalize: { method: 'zscore' } }, /normalize.method/],
    [{ orientation: 'LPS' }, /orientation/],
    [{ gird: 1 }, /unknown key 'gird'/],
    [[1, 2], /JSON object/],
  ])('rejects %j', (json, msg) => {
    expect(() => parsePreprocessSpec(json)).toThrow(msg);
  });
});
