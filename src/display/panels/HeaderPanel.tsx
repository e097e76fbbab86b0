/** Header panel: what the scan is (dims, voxels, orientation, type, range) and its sequence, overridable. */
import { useStore, selectSequence } from '../store/index.ts';
import { scanSequence } from '../../core/guard/sequence-acquisition.ts';
import type { Sequence } from '../../core/load/sequence.ts';
import { fmt } from './format.ts';

const CHOICES: Sequence[] = ['FLAIR', 'T2w'];

export function HeaderPanel() {
  const scan = useStore((s) => s.scan);
  const sequence = useStore(selectSequence);
  const override = useStore((s) => s.sequenceOverride);
  const setOverride = useStore((s) => s.setSequenceOverride);
  if (!scan)
    return (
      <section className="panel" data-testid="header-panel">
        <h2>Scan</h2>
        <p className="muted">No scan loaded.</p>
      </section>
    );
  const { volume, info } = scan;
  const detected = scanSequence(info.sequence, info.acquisition);
  const rows: [string, string, string][] = [
    ['File', info.fileName, 'header-file'],
    ['Format', info.format, 'header-format'],
    [
      'Dimensions',
      volume.dims.join(' × ') +
        (info.tookFirstVolume ? ` (volume 1 of ${info.fileDims.slice(3).reduce((a, b) => a * b, 1)})` : ''),
      'header-dims',
    ],
    ['Voxel size', volume.spacing.map((s) => fmt(s, 3)).join(' × ') + ' mm', 'header-spacing'],
    ['Orientation', `${info.orientation} (${info.affineSource})`, 'header-orientation'],
    ['Datatype', info.datatype, 'header-datatype'],
    ['Intensity range', `${fmt(info.intensityRange[0])} … ${fmt(info.intensityRange[1])}`, 'header-range'],
  ];
  if (info.description) rows.push(['Description', info.description, 'header-description']);
  return (
    <section className="panel" data-testid="header-panel">
      <h2>Scan</h2>
      <dl className="kv">
        {rows.map(([k, v, id]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd data-testid={id} title={v}>
              {v}
            </dd>
          </div>
        ))}
      </dl>
      <div className="sequence">
        <label htmlFor="sequence-select">Sequence</label>
        <select
          id="sequence-select"
          data-testid="sequence-select"
          value={sequence}
          onChange={(e) => setOverride(e.target.value === detected.sequence ? null : (e.target.value as Sequence))}
        >
          {sequence === 'unknown' && <option value="unknown">Choose…</option>}
          {/* A sequence no model is trained on (T1w, from a DICOM series' times) is listed only to show it, and to undo an override. */}
          {!(CHOICES as string[]).includes(detected.sequence) && detected.sequence !== 'unknown' && (
            <option value={detected.sequence}>{detected.sequence}</option>
          )}
          {CHOICES.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        <p className="muted small" data-testid="sequence-evidence">
          {override ? `Set by you (detected: ${detected.sequence})` : `Detected from ${detected.evidence}`}
        </p>
        {sequence === 'unknown' && (
          <p className="warn small" role="alert" data-testid="sequence-required">
            Choose FLAIR or T2w before classification.
          </p>
        )}
      </div>
    </section>
  );
}
