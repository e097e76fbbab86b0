// The page's Content-Security-Policy (index.html) and the server examples of docs/deploy.md.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const html = read('index.html');
const policy = /<meta http-equiv="Content-Security-Policy" content="([^"]+)" \/>/.exec(html)?.[1] ?? '';
const directives = new Map(
  policy
    .split(';')
    .map((d) => d.trim().split(/\s+/))
    .map(([name, ...sources]) => [name, sources]),
);

describe('Content-Security-Policy', () => {
  it('is the first thing in <head> after the charset, so it covers every script and style', () => {
    expect(policy).not.toBe('');
    const head = html.slice(html.indexOf('<head>'), html.indexOf('</head>'));
    const tags = [...head.matchAll(/<(meta|link|script|style)\b[^>]*>/g)].map((m) => m[0]);
    expect(tags[0]).toMatch(/charset/);
    expect(tags[1]).toMatch(/http-equiv="Content-Security-Policy"/);
  });

  it('lets the page connect to its own origin only, and run only its own scripts and workers', () => {
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    expect(directives.get('worker-src')).toEqual(["'self'"]);
    expect(directives.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(directives.get('form-action')).toEqual(["'none'"]);
  });

  it('is the policy the nginx, Apache and IIS examples of docs/deploy.md send', () => {
    const doc = read('docs/deploy.md');
    const quoted = (lang: string) =>
      [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]).join('\n');
    expect(quoted('nginx')).toContain(`add_header Content-Security-Policy "${policy}" always;`);
    expect(quoted('apache')).toContain(`Header always set Content-Security-Policy "${policy}"`);
    expect(quoted('xml')).toContain(`<add name="Content-Security-Policy" value="${policy}" />`);
  });
});
