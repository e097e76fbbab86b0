/**
 * The adaptation panel's rules, pure so that they are unit-tested without a worker: whether the
 * listed scans and their labels can train (src/core/adapt's labelCounts, as `qumri adapt` checks them
 * before any backbone work), a DICOM series' name in the list, the adapted model's id, and the
 * bundle folder as a zip.
 */
import { zipSync } from 'fflate';
import { AdaptError, labelCounts } from '../../core/adapt/index.ts';
import type { DicomSeriesSummary } from '../../core/protocol.ts';
import type { AdaptScan } from './adapt-slice.ts';

export interface LabelCheck {
  /** The run can start (perhaps forced: `force`). */
  ok: boolean;
  /** Fewer than MIN_PER_CLASS (core) scans in a class: the run needs the user's "adapt anyway". */
  force: boolean;
  /** What the panel says, or null when the labels are fine. */
  message: string | null;
}

export function checkLabels(
  scans: readonly { name: string; label: string | null }[],
  classes: readonly [string, string],
): LabelCheck {
  const unlabelled = scans.filter((s) => s.label === null).length;
  if (scans.length === 0) return { ok: false, force: false, message: null };
  if (unlabelled) return { ok: false, force: false, message: `Label every scan (${unlabelled} without a label).` };
  const labelled = scans.map((s) => ({ name: s.name, label: s.label! }));
  try {
    labelCounts(labelled, classes);
    return { ok: true, force: false, message: null };
  } catch (err) {
    if (!(err instanceof AdaptError)) throw err;
    if (err.code === 'too-few') {
      return { ok: true, force: true, message: `${err.message[0].toUpperCase()}${err.message.slice(1)}.` };
    }
    return { ok: false, force: false, message: err.message };
  }
}

/** checkLabels once every row holds a scan: none of its DICOM files still converting, none that gave no scan. */
export function checkScans(
  scans: readonly Pick<AdaptScan, 'name' | 'label' | 'state' | 'source'>[],
  classes: readonly [string, string],
): LabelCheck {
  if (scans.some((s) => s.state === 'converting'))
    return { ok: false, force: false, message: 'Converting the DICOM files…' };
  const none = scans.filter((s) => !s.source).length;
  if (none)
    return {
      ok: false,
      force: false,
      message: `Remove the ${none === 1 ? 'item' : `${none} items`} that gave no scan (the reason is shown on each).`,
    };
  return checkLabels(scans, classes);
}

/** A converted DICOM series as the list names it: number, description and dimensions. */
export function seriesName(s: DicomSeriesSummary): string {
  return `DICOM series #${s.seriesNumber ?? '?'} ${s.seriesDescription || s.protocolName || s.fileName} (${s.dims.join(' × ')})`;
}

/** `<source>-adapted-<UTC date and time>`, with -2, -3… when the list already holds it. */
export function adaptedId(sourceId: string, date: Date, taken: ReadonlySet<string>): string {
  const stamp = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
  const base = `${sourceId}-adapted-${stamp}`;
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  return id;
}

/** The bundle as a folder `<id>/` in a zip, as `qumri classify --model <dir>` reads it once unpacked. */
export function bundleZip(id: string, files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  return zipSync(Object.fromEntries([...files].map(([name, bytes]) => [`${id}/${name}`, bytes])));
}
