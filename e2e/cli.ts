/** The node CLI's answer for one scan, for tests that hold the page to it (same preprocessing, kernel and guards). */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** `qumri classify FILE --model ID --json`'s one row (column names as in src/cli/commands/classify.ts COLUMNS). */
export function cliRow<Row>(file: string, modelId: string): Row {
  const out = execFileSync(
    process.execPath,
    [join(root, 'bin/qumri.mjs'), 'classify', file, '--model', modelId, '--json'],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return (JSON.parse(out) as Row[])[0];
}
