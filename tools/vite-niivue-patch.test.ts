import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { patchNiivue } from './vite-niivue-patch.ts';

// The file the app imports (package.json exports["."].import).
const niivueBuild = () => readFileSync(fileURLToPath(import.meta.resolve('@niivue/niivue')), 'utf8');

describe('NiiVue gradient patch', () => {
  it('guards the one unconditional gradientGL call of the installed NiiVue', () => {
    const code = niivueBuild();
    const patched = patchNiivue(code);
    expect(patched.length).toBeGreaterThan(code.length);
    expect(patched).toContain('if (qumriGradientUsed) this.gradientTexture = gradientGL({');
    // The gradientGL() method (illumination turned on later) is left as it was.
    expect(patched).toContain('  gradientGL(hdr) {\n    this.gradientTexture = gradientGL({');
  });

  it('fails loudly when NiiVue changed', () => {
    expect(() => patchNiivue('export const x = 1;')).toThrow(/NiiVue changed/);
    expect(() => patchNiivue(patchNiivue(niivueBuild()))).toThrow(/NiiVue changed/);
  });
});
