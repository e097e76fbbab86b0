/** Preprocessing panel: run the model's preprocessing in the worker, a progress bar per step, the brain-mask overlay toggle. */
import { useEffect, useRef } from 'react';
import { useStore } from '../store/index.ts';
import { viewer } from '../viewer/index.ts';
import { columnNorms } from '../../core/preprocess/affine.ts';
import { preprocessInWorker } from './bridge.ts';
import './preprocess.css';

const OVERLAY = 'brain-mask';

const LABELS: Record<string, string> = {
  reorient: 'Reorient to RAS',
  brain: 'Brain mask',
  resample: 'Resample to grid',
  normalize: 'Normalise',
};

const SOURCE: Record<string, string> = {
  extracted: 'brain extracted',
  'stripped-input': 'input already skull-stripped: extraction skipped',
  head: 'brain extraction off: head mask',
};

export function PreprocessPanel() {
  const scan = useStore((s) => s.scan);
  const scanVersion = useStore((s) => s.scanVersion);
  const view = useStore((s) => s.preprocessing);
  const modelId = useStore((s) => s.modelId);
  const registry = useStore((s) => s.registry);
  const abort = useRef<AbortController | null>(null);
  const current = view.scanVersion === scanVersion;

  const spec = registry?.find((e) => e.id === modelId)?.manifest?.preprocess ?? {};
  const run = async () => {
    if (!scan) return;
    abort.current?.abort();
    const ctrl = new AbortController();
    abort.current = ctrl;
    const st = useStore.getState();
    st.startPreprocess(scanVersion);
    try {
      const r = await preprocessInWorker(
        scan.volume,
        spec,
        (e) => useStore.getState().preprocessProgress(e),
        ctrl.signal,
      );
      if (!ctrl.signal.aborted) useStore.getState().preprocessDone(r);
    } catch (err) {
      if (!ctrl.signal.aborted) useStore.getState().preprocessFailed(err instanceof Error ? err.message : String(err));
    }
  };

  // A new scan cancels a run in flight.
  useEffect(() => () => abort.current?.abort(), [scanVersion]);

  const result = current ? view.result : null;
  useEffect(() => {
    if (!result || !view.showMask) {
      void viewer.removeOverlay(OVERLAY);
      return;
    }
    const vol = {
      dims: result.grid,
      spacing: columnNorms(result.affine),
      affine: result.affine,
      datatype: 'uint8' as const,
      data: Float32Array.from(result.mask),
    };
    void viewer.setOverlay(OVERLAY, vol, { colormap: 'green', opacity: 0.35, min: 0.5, max: 1 });
  }, [result, view.showMask]);

  const running = current && view.status === 'running';
  return (
    <section className="panel preprocess" data-testid="preprocess-panel">
      <h2>Preprocessing</h2>
      <button type="button" data-testid="preprocess-run" disabled={!scan || running} onClick={() => void run()}>
        {running ? 'Preprocessing…' : 'Preprocess for the model'}
      </button>
      {current && view.status !== 'idle' && (
        <ol className="steps" data-testid="preprocess-steps">
          {view.steps.map((s) => (
            <li key={s.name} data-testid={`preprocess-step-${s.name}`} data-fraction={s.fraction}>
              <span className="label">{LABELS[s.name] ?? s.name}</span>
              <progress max={1} value={s.fraction} />
              <span className="ms">{s.ms === null ? '' : `${s.ms.toFixed(0)} ms`}</span>
            </li>
          ))}
        </ol>
      )}
      {current && view.error && (
        <p className="error" data-testid="preprocess-error">
          {view.error}
        </p>
      )}
      {result && (
        <>
          <p className="muted" data-testid="preprocess-summary">
            {result.grid.join('×')} grid · {SOURCE[result.maskSource]} · intensities{' '}
            {result.intensityRange.map((x) => x.toFixed(0)).join('…')} → 0…1
          </p>
          <label>
            <input
              type="checkbox"
              data-testid="preprocess-show-mask"
              checked={view.showMask}
              onChange={(e) => useStore.getState().setShowMask(e.target.checked)}
            />{' '}
            Show brain mask
          </label>
        </>
      )}
    </section>
  );
}
