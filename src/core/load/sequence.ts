/** Sequence detection (FLAIR vs T2w) from a BIDS suffix, DICOM series fields, or the file name. */

export type Sequence = 'FLAIR' | 'T2w' | 'unknown';

export interface SequenceDetection {
  sequence: Sequence;
  /** Where the answer came from; 'none' when nothing recognisable was found. */
  source: 'bids' | 'dicom' | 'filename' | 'description' | 'none';
  /** The text that decided it, for the header panel ("BIDS suffix _FLAIR"). */
  evidence: string;
}

export interface SequenceHints {
  fileName?: string;
  seriesDescription?: string;
  protocolName?: string;
  /** NIfTI descrip field: weakest evidence, used last. */
  description?: string;
}

const EXTENSIONS = /(\.nii\.gz|\.nii|\.json|\.dcm|\.gz)$/i;

function baseName(path: string): string {
  return path.split(/[\\/]/).pop()!.replace(EXTENSIONS, '');
}

/** BIDS: sub-<label>[_<key>-<value>]*_<suffix>; the suffix is the contrast and is case-sensitive. */
function fromBids(fileName: string): SequenceDetection | null {
  const name = baseName(fileName);
  const m = /^sub-[A-Za-z0-9]+(?:_[A-Za-z]+-[A-Za-z0-9]+)*_([A-Za-z0-9]+)$/.exec(name);
  if (!m) return null;
  const suffix = m[1];
  if (suffix === 'FLAIR') return { sequence: 'FLAIR', source: 'bids', evidence: 'BIDS suffix _FLAIR' };
  if (suffix === 'T2w') return { sequence: 'T2w', source: 'bids', evidence: 'BIDS suffix _T2w' };
  return { sequence: 'unknown', source: 'bids', evidence: `BIDS suffix _${suffix} (neither FLAIR nor T2w)` };
}

/**
 * Free text (series description, protocol, file name): FLAIR wins over T2 ("T2 FLAIR" is FLAIR);
 * T2* / T2 star / T2 map are not T2-weighted structural scans.
 */
export function classifyText(text: string): Sequence | null {
  const up = text.toUpperCase();
  if (/FLAIR|DARK[\s_-]*FLUID/.test(up)) return 'FLAIR';
  const tokens = up.split(/[^A-Z0-9*]+/).filter(Boolean);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (/^T2(\*|STAR|MAP|MAPPING|PREP)/.test(t) || (/^T2$/.test(t) && /^(STAR|MAP|\*)/.test(tokens[i + 1] ?? '')))
      continue;
    if (/^T2(W|WI)?$/.test(t) || /^T2(TSE|FSE|SPC|SPACE|CUBE|VISTA|AX|TRA|COR|SAG|HASTE|BLADE|PROPELLER|DRIVE)/.test(t))
      return 'T2w';
    if (/^(TSE|FSE|SPC|SPACE)T2$/.test(t)) return 'T2w';
  }
  return null;
}

export function detectSequence(hints: SequenceHints): SequenceDetection {
  if (hints.fileName) {
    const bids = fromBids(hints.fileName);
    if (bids) return bids;
  }
  const ordered: [SequenceDetection['source'], string, string | undefined][] = [
    ['dicom', 'SeriesDescription', hints.seriesDescription],
    ['dicom', 'ProtocolName', hints.protocolName],
    ['filename', 'file name', hints.fileName ? baseName(hints.fileName) : undefined],
    ['description', 'NIfTI description', hints.description],
  ];
  for (const [source, label, text] of ordered) {
    if (!text) continue;
    const seq = classifyText(text);
    if (seq) return { sequence: seq, source, evidence: `${label} "${text}"` };
  }
  return { sequence: 'unknown', source: 'none', evidence: 'no FLAIR or T2w marker in the file name or series fields' };
}
