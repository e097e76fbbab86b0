/** Writes the bad-input corpus (tools/bad-corpus.ts) to a folder, plus an index.json of expected errors. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { badCorpus } from './bad-corpus.ts';

const out = process.argv[2];
if (!out) {
  console.error('usage: tsx tools/make-bad-corpus.ts <out-dir>');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const files = badCorpus();
for (const f of files) writeFileSync(join(out, f.name), f.bytes);
writeFileSync(
  join(out, 'index.json'),
  JSON.stringify(
    files.map(({ name, code, expect }) => ({ name, code, expect })),
    null,
    2,
  ),
);
console.log(`wrote ${files.length} bad-input files to ${out}`);
