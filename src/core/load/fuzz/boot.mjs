// Worker-thread entry: node cannot load TypeScript by itself, so register tsx, then load workerData.entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
