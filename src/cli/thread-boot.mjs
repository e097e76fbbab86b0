// Worker-thread entry: a thread does not inherit the tsx loader bin/qumri.mjs registered, so it
// registers its own, then loads the TypeScript module named by workerData.entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
