import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npx qumri', () => {
  it('prints no npm warning (an unknown key in a project .npmrc would make npm print one)', () => {
    // Through npx, not `node bin/qumri.mjs`: the warnings come from npm reading the project config.
    // The caller's npm_config_* variables are dropped so that only the project's config is judged.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k)));
    const r = spawnSync('npx', ['qumri', 'models'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^tsc-flair-qresnet34\t/m);
    expect(r.stderr.split('\n').filter((l) => /^npm warn/i.test(l))).toEqual([]);
  });
});
