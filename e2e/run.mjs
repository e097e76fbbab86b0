// e2e runner: builds the app, serves it with `vite preview` on a free port, runs every
// e2e/*.e2e.ts (via tsx) and e2e/*.e2e.mjs in headless Debian Chromium, and ends with exactly one
// line "N passed, N failed" (exit 1 on any failure).
// Usage: node e2e/run.mjs [--no-build] [--plain] [file-substring ...]   env QUMRI_E2E_GREP=<test-name substring>
// --plain serves the build with `python3 -m http.server` instead: no COOP/COEP and no CSP header, as
// on a server that sends no headers (docs/deploy.md); files that start their own server ignore it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = join(root, 'e2e', 'artifacts');
const outDir = join(artifacts, 'dist');
const args = process.argv.slice(2);
const build = !args.includes('--no-build');
const plain = args.includes('--plain');
const filters = args.filter((a) => !a.startsWith('--'));
const bin = (name) => join(root, 'node_modules', '.bin', name);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${plain ? 'static' : 'preview'} server did not answer at ${url} within ${ms / 1000} s`);
}

function runFile(file, env) {
  return new Promise((resolve) => {
    const cmd = file.endsWith('.ts') ? [bin('tsx'), [file]] : [process.execPath, [file]];
    const child = spawn(cmd[0], cmd[1], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const results = [];
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      let nl;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('E2E-RESULT ')) {
          const r = JSON.parse(line.slice('E2E-RESULT '.length));
          results.push(r);
          console.log(
            `${r.ok ? 'ok  ' : 'FAIL'} ${file.split('/').pop()} › ${r.name} (${(r.ms / 1000).toFixed(1)} s)${r.ok ? '' : `\n     ${r.error}`}`,
          );
        } else if (line.trim()) {
          console.log(`     ${line}`);
        }
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      // A file that crashed before reporting counts as one failure, with its stderr shown.
      if (code !== 0 && results.every((r) => r.ok)) {
        results.push({
          name: '(file crashed)',
          ok: false,
          error: `exit ${code}: ${err.trim().split('\n').slice(-8).join('\n')}`,
        });
        console.log(
          `FAIL ${file.split('/').pop()} › crashed (exit ${code})\n${err.trim().split('\n').slice(-8).join('\n')}`,
        );
      }
      resolve(results);
    });
  });
}

mkdirSync(artifacts, { recursive: true });
if (build) {
  for (const [cmd, cmdArgs] of [
    [process.execPath, [join(root, 'tools', 'copy-ort-assets.mjs')]],
    [bin('vite'), ['build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn']],
  ]) {
    const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      console.log('0 passed, 1 failed');
      process.exit(1);
    }
  }
}

const files = readdirSync(join(root, 'e2e'))
  .filter((f) => /\.e2e\.(ts|mjs)$/.test(f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort()
  .map((f) => join(root, 'e2e', f));

const port = await freePort();
const url = `http://127.0.0.1:${port}/`;
const server = plain
  ? spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', outDir], {
      cwd: root,
      stdio: 'ignore',
      detached: true,
    })
  : spawn(bin('vite'), ['preview', '--outDir', outDir, '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
      cwd: root,
      stdio: 'ignore',
      detached: true,
    });
let passed = 0;
let failed = 0;
try {
  await waitForHttp(url, 30_000);
  const env = { ...process.env, QUMRI_E2E_URL: url, QUMRI_E2E_ARTIFACTS: artifacts };
  for (const f of files) {
    for (const r of await runFile(f, env)) r.ok ? passed++ : failed++;
  }
} catch (e) {
  console.log(`e2e runner: ${e instanceof Error ? e.message : e}`);
  failed++;
} finally {
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
