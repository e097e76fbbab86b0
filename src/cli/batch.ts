/**
 * What `qumri classify` and `qumri preprocess` share to run a batch that never loses work: one row
 * per input built from one column list, each row appended to a CSV as it completes, `--resume`
 * against that CSV, and the check that keeps masks and label maps out of a folder's batch.
 */
import { open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { sha256Hex } from '../core/bundle/hash.ts';
import type { Volume, VoxelType } from '../core/volume.ts';

export type Status = 'ok' | 'error' | 'skipped';
export type Cell = string | number | boolean | null;

/** Output columns in order, each read from a command's per-input outcome: a new column is one line. */
export type Columns<O> = Record<string, (o: O) => Cell>;
export type RowOf<C extends Columns<never>> = { [K in keyof C]: ReturnType<C[K]> };

export function buildRow<O, C extends Columns<O>>(columns: C, o: O): RowOf<C> {
  return Object.fromEntries(Object.entries(columns).map(([name, cell]) => [name, cell(o)])) as RowOf<C>;
}

/** A row read back from a CSV: column name → text. */
export type CsvRecord = Record<string, string>;

/** Minimal RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

export function formatCsv(rows: string[][]): string {
  const cell = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return rows.map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

const cellText = (v: Cell | undefined): string => (v === null || v === undefined ? '' : String(v));

/** Replaces FILE in one rename, so a reader (or a crash) never sees it half written. */
export async function writeAtomically(file: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
}

/**
 * A CSV written row by row. Node does not buffer file writes, so each awaited append has reached
 * the OS before the next input starts: a crash or Ctrl-C keeps every finished row.
 */
export class CsvLog {
  private constructor(
    private readonly fh: FileHandle,
    private readonly columns: string[],
  ) {}

  /** Starts FILE (replacing it atomically) with the header and `kept`, the earlier rows --resume carries over. */
  static async create(file: string, columns: string[], kept: CsvRecord[] = []): Promise<CsvLog> {
    await writeAtomically(file, formatCsv([columns, ...kept.map((r) => columns.map((c) => r[c] ?? ''))]));
    return new CsvLog(await open(file, 'a'), columns);
  }

  async append(row: Record<string, Cell>): Promise<void> {
    await this.fh.write(formatCsv([this.columns.map((c) => cellText(row[c]))]));
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** The rows of an earlier run's CSV, none when FILE does not exist; refuses one without the columns resuming needs. */
export async function readPriorRows(file: string, required: string[]): Promise<CsvRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const [header = [], ...rows] = parseCsv(text);
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length > 0)
    throw new Error(
      `--resume: ${file} has no ${missing.join(', ')} column; it was not written by this command (or by an older version), so nothing can be resumed from it`,
    );
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

export interface ResumePlan {
  /** Input index → the earlier row that stands for it: that input is not run again. */
  done: Map<number, CsvRecord>;
  /** The earlier rows to write back: for this run's files only the row that stands for a done input (a rerun's new row replaces the others). */
  kept: CsvRecord[];
}

/**
 * `--resume`: an input is done when an earlier row names the same file and sha256 and `finished(row)`
 * holds (the same model or spec, and a status of ok or skipped: failures are retried). `same(row)`
 * says whether an earlier row of a file that runs again is about this run (then it is dropped) or
 * about something else, e.g. another model, and is kept. `sha256Of` gives an input's sha256 as the
 * command recorded it (default: of the file's bytes; null when unreadable).
 */
export async function planResume(
  prior: CsvRecord[],
  files: string[],
  {
    same,
    finished,
    sha256Of = sha256OfFile,
  }: {
    same: (row: CsvRecord) => boolean;
    finished: (row: CsvRecord) => boolean;
    sha256Of?: (file: string) => Promise<string | null>;
  },
): Promise<ResumePlan> {
  const done = new Map<number, CsvRecord>();
  for (const [i, file] of files.entries()) {
    const candidates = prior.filter((r) => r.file === file && finished(r));
    const sha256 = candidates.length > 0 ? await sha256Of(file) : null;
    const match = candidates.filter((r) => r.sha256 === sha256).at(-1);
    if (match) done.set(i, match);
  }
  const inRun = new Set(files);
  const standing = new Set(done.values());
  return { done, kept: prior.filter((r) => !same(r) || !inRun.has(r.file) || standing.has(r)) };
}

/** Hex SHA-256 of a file's bytes, null when it cannot be read (the run then reports why). */
async function sha256OfFile(file: string): Promise<string | null> {
  const bytes = await readFile(file).catch(() => null);
  return bytes ? sha256Hex(new Uint8Array(bytes)) : null;
}

const INTEGER_TYPES: ReadonlySet<VoxelType> = new Set(['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32']);
const MAX_LABELS = 10;

/**
 * Why a volume is clearly not a scan, or null: integer voxels with at most 10 distinct values are a
 * mask or a label map (a scan's intensities take hundreds of values).
 */
export function notAScan(volume: Volume): string | null {
  if (!INTEGER_TYPES.has(volume.datatype)) return null;
  const values = new Set<number>();
  for (const v of volume.data) {
    values.add(v);
    if (values.size > MAX_LABELS) return null;
  }
  const list = [...values].sort((a, b) => a - b).join(', ');
  return `looks like a mask or label map, not a scan: ${volume.datatype} voxels with ${values.size} distinct value${values.size === 1 ? '' : 's'} (${list})`;
}
