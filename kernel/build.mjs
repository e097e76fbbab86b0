// Compiles the AssemblyScript kernel (kernel/assembly) to kernel/build/kernel.wasm with
// explicit SIMD, -O3, no runtime assertions and the stub runtime (the kernel allocates nothing).
import { main } from 'assemblyscript/asc';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const args = [
  join(here, 'assembly', 'index.ts'),
  '--outFile',
  join(here, 'build', 'kernel.wasm'),
  '--textFile',
  join(here, 'build', 'kernel.wat'),
  '-O3',
  '--noAssert',
  '--runtime',
  'stub',
  '--enable',
  'simd',
];
const { error } = await main(args, { stdout: process.stdout, stderr: process.stderr });
if (error) {
  console.error(`build:kernel failed: ${error.message}`);
  process.exit(1);
}
console.log(`build:kernel: wrote ${join('kernel', 'build', 'kernel.wasm')}`);
