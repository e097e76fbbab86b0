/** Dialog listing the DICOM series found in a drop, so the user picks the one to load. */
import { useStore } from '../store/index.ts';
import { loadSeries } from '../load/load-controller.ts';

export function SeriesChooser() {
  const series = useStore((s) => s.seriesChoice);
  const close = useStore((s) => s.setSeriesChoice);
  if (!series) return null;
  return (
    <div className="modal-backdrop">
      <div className="modal" role="dialog" aria-label="Choose a DICOM series" data-testid="series-chooser">
        <h2>{series.length} series found — choose one</h2>
        <ul>
          {series.map((s) => (
            <li key={s.id}>
              <button data-testid="series-option" onClick={() => void loadSeries(s.id)}>
                <span>
                  #{s.seriesNumber ?? '?'} {s.seriesDescription || s.protocolName || s.fileName}
                </span>
                <span className="muted">{s.dims.join(' × ')}</span>
              </button>
            </li>
          ))}
        </ul>
        <button onClick={() => close(null)}>Cancel</button>
      </div>
    </div>
  );
}
