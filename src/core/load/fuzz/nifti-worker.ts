/** Worker thread for the NIfTI/gzip fuzz cases: parses one file per message and reports how it ended. */
import { parentPort } from 'node:worker_threads';
import { guardAllocations, takeRefusals } from './alloc-guard.ts';

export interface NiftiCase {
  /** The file is bytes[offset, offset + length) of `buffer`, so views start at odd offsets too. */
  buffer: ArrayBuffer;
  offset: number;
  length: number;
  fileName: string;
  firstVolumeOnly: boolean;
}

export type CaseOutcome = (
  | { kind: 'volume'; problems: string[] }
  | { kind: 'scan-error'; code: string; message: string }
  | { kind: 'crash'; error: string }
) & {
  /** Allocations over the fuzz limit the case asked for, however the loader then fared. */
  hugeAllocations: string[];
};

// Before the loader is imported: fflate keeps its own reference to Uint8Array.
guardAllocations();
const { parseNifti } = await import('../nifti.ts');
const { ScanError } = await import('../scan-error.ts');
const { scanProblems } = await import('./check-scan.ts');

const port = parentPort;
if (!port) throw new Error('nifti-worker.ts runs as a worker thread');
port.on('message', (c: NiftiCase) => {
  takeRefusals();
  let outcome: CaseOutcome;
  try {
    const scan = parseNifti(new Uint8Array(c.buffer, c.offset, c.length), c.fileName, {
      firstVolumeOnly: c.firstVolumeOnly,
    });
    outcome = { kind: 'volume', problems: scanProblems(scan), hugeAllocations: takeRefusals() };
  } catch (e) {
    const hugeAllocations = takeRefusals();
    outcome =
      e instanceof ScanError
        ? { kind: 'scan-error', code: e.code, message: e.message, hugeAllocations }
        : {
            kind: 'crash',
            error: e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e),
            hugeAllocations,
          };
  }
  port.postMessage(outcome);
});
port.postMessage('ready');
