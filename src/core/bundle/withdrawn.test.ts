import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { namedPlane, noSliceModelText, parseWithdrawn } from './withdrawn.ts';

const MODELS = fileURLToPath(new URL('../../../public/models/', import.meta.url));
const shipped = parseWithdrawn(readFileSync(`${MODELS}withdrawn.json`, 'utf8'));

describe('models/withdrawn.json', () => {
  it('lists only bundles that fail the floor and are no longer shipped', () => {
    const index = (JSON.parse(readFileSync(`${MODELS}index.json`, 'utf8')) as { models: string[] }).models;
    expect(shipped.bundles.length).toBeGreaterThan(0);
    for (const b of shipped.bundles) {
      expect(b.ci95[0], b.id).toBeLessThanOrEqual(shipped.aucFloor);
      expect(index, b.id).not.toContain(b.id);
    }
  });

  it('gives the slice panel its words per plane, numbers from the file', () => {
    expect(noSliceModelText('axial', shipped)).toBe(
      'No axial 2D model passes the shipping rule (test AUC 95 % interval above 0.70). The last candidates: DenseNet121 0.56 (0.32–0.77), QCNN 0.32 (0.12–0.56).',
    );
    expect(noSliceModelText('sagittal', shipped)).toMatch(
      /^No sagittal 2D model .* The last candidates: DenseNet121 0\.45 \(0\.22–0\.67\), QDenseNet121 0\.37 \(0\.17–0\.60\)\.$/,
    );
    expect(noSliceModelText('axial', { ...shipped, bundles: [] })).toBe(
      'No axial 2D model passes the shipping rule (test AUC 95 % interval above 0.70).',
    );
  });

  it('refuses a malformed file with the field at fault', () => {
    const doc = JSON.parse(readFileSync(`${MODELS}withdrawn.json`, 'utf8')) as { withdrawn: Record<string, unknown>[] };
    expect(() => parseWithdrawn('{')).toThrow(/not valid JSON/);
    expect(() => parseWithdrawn(JSON.stringify({ ...doc, auc_floor: '0.7' }))).toThrow(/auc_floor/);
    doc.withdrawn[0].plane = 'coronal';
    expect(() => parseWithdrawn(JSON.stringify(doc))).toThrow(/withdrawn\[0\]\.plane/);
    doc.withdrawn[0].plane = 'axial';
    doc.withdrawn[0].ci95 = [0.3];
    expect(() => parseWithdrawn(JSON.stringify(doc))).toThrow(/withdrawn\[0\] to have a numeric auc and ci95/);
  });

  it("reads a 2D model's plane from its name, none when it names none", () => {
    expect(namedPlane('QCNN, MS vs healthy, FLAIR axial slice (224×224)')).toBe('axial');
    expect(namedPlane('DenseNet121, MS vs healthy, FLAIR sagittal slice (224×224)')).toBe('sagittal');
    expect(namedPlane('Tiny 2D slice test bundle (random weights)')).toBeNull();
  });
});
