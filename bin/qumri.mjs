#!/usr/bin/env node
// The `qumri` command line: runs the TypeScript sources through tsx so the CLI
// shares every module with the page and the workers, with no separate build.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
