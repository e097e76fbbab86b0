/**
 * *Adapt to this site* (issue 22): the user drops or picks labelled scans (NIfTI files, DICOM
 * series), the chosen model's head is fine-tuned on them in the inference worker
 * (adapt-controller.ts), the cross-validated numbers before and after are shown with their
 * intervals, and the adapted model is kept in this browser or discarded. The models adapted here
 * are listed with export and removal.
 */
import { useRef, type DragEvent } from 'react';
import { noGain, type AdaptProgress, type Interval } from '../../core/adapt/index.ts';
import type { Manifest } from '../../core/bundle/index.ts';
import { useStore } from '../store/index.ts';
import { filesFromDrop } from '../load/load-controller.ts';
import { checkScans } from './adapt-rules.ts';
import {
  addAdaptFiles,
  cancelAdaptation,
  discardAdapted,
  exportAdapted,
  keepAdapted,
  removeAdapted,
  runAdaptation,
} from './adapt-controller.ts';
import type { AdaptOutcome } from './adapt-slice.ts';
import './adapt.css';

const STATE = {
  converting: 'converting…',
  waiting: '',
  reading: 'reading…',
  features: 'backbone…',
  done: '✓',
  failed: '✗',
} as const;

const fmt = (m: Interval): string => `${m.value.toFixed(3)} (${m.ci95[0].toFixed(3)}–${m.ci95[1].toFixed(3)})`;

function stepText(p: AdaptProgress): string {
  return p.stage === 'final'
    ? `Final fit on every scan: step ${p.epoch} of ${p.epochs}`
    : `Cross-validation fold ${p.fold} of ${p.folds - 1}: step ${p.epoch} of ${p.epochs}`;
}

function Progress() {
  const step = useStore((s) => s.adaptScanStep);
  const p = useStore((s) => s.adaptProgress);
  const scans = useStore((s) => s.adaptScans);
  if (step) {
    const name = scans[step.index - 1]?.name ?? '';
    return (
      <div className="adapt-progress" data-testid="adapt-progress" data-stage="scans">
        <p className="small">
          Scan {step.index} of {step.total}: {name} (preprocessing and backbone)
        </p>
        <progress max={step.total} value={step.index - 1} />
      </div>
    );
  }
  if (!p) {
    // Every scan read: the worker prepares the fine-tuning (it reads the bundle again) until its first step.
    const tuning = scans.every((s) => s.state === 'done');
    return (
      <p className="small muted" data-testid="adapt-progress" data-stage={tuning ? 'fine-tuning' : 'starting'}>
        {tuning ? 'Fine-tuning the head…' : 'Starting…'}
      </p>
    );
  }
  // Cross-validation folds and the final fit, as one bar.
  const done = (p.fold - 1) * p.epochs + p.epoch;
  return (
    <div className="adapt-progress" data-testid="adapt-progress" data-stage={p.stage} data-epoch={p.epoch}>
      <p className="small">{stepText(p)}</p>
      <progress max={p.folds * Math.max(p.epochs, 1)} value={done} />
    </div>
  );
}

function Outcome({ outcome, source }: { outcome: AdaptOutcome; source: Manifest | undefined }) {
  const { result, caveats, manifest } = outcome.run;
  const gain = noGain(result);
  const counts = Object.entries(result.perClass)
    .map(([c, n]) => `${n} ${c}`)
    .join(', ');
  return (
    <div data-testid="adapt-outcome" data-helped={gain ? 'false' : 'true'}>
      <p className="small">
        {counts}, {result.folds}: kept {result.epochs} of {result.options.epochs} fine-tuning steps.
      </p>
      <table className="adapt-metrics" data-testid="adapt-metrics">
        <thead>
          <tr>
            <th>cross-validated</th>
            <th>AUC (95 % CI)</th>
            <th>accuracy (95 % CI)</th>
          </tr>
        </thead>
        <tbody>
          <tr data-testid="adapt-before">
            <td>before</td>
            <td>{fmt(result.before.auc)}</td>
            <td>
              {fmt(result.before.acc)} at {(source?.threshold ?? 0.5).toFixed(2)}
            </td>
          </tr>
          <tr data-testid="adapt-after">
            <td>after</td>
            <td>{fmt(result.after.auc)}</td>
            <td>
              {fmt(result.after.acc)} at {result.threshold.toFixed(2)}
            </td>
          </tr>
        </tbody>
      </table>
      <p className="small muted">
        Measured on these scans only: each predicted by a head fine-tuned without it, but the number of steps and the
        threshold were chosen on the same predictions, so “after” leans optimistic.
      </p>
      {gain && (
        <p className="warn" role="alert" data-testid="adapt-no-gain">
          {gain === 'no-steps'
            ? 'Adaptation did not help: no fine-tuning step lowered the cross-validated loss, so the head is the original one (only its threshold and calibration were refitted).'
            : 'Adaptation did not help: the cross-validated AUC is lower than the original model’s.'}{' '}
          Keeping the original model is advised.
        </p>
      )}
      {result.calibrationProblem && <p className="small warn">No calibration: {result.calibrationProblem}</p>}
      {caveats.map((c) => (
        <p key={c} className="small warn" data-testid="adapt-caveat">
          Note: {c}
        </p>
      ))}
      {outcome.saved ? (
        <p className="small" data-testid="adapt-saved">
          Kept in this browser as “{manifest.name}” and chosen above.
        </p>
      ) : (
        <div className="adapt-actions">
          <button type="button" data-testid="adapt-keep" onClick={() => void keepAdapted()}>
            {gain ? 'Keep the adapted model anyway' : 'Keep the adapted model'}
          </button>
          <button type="button" data-testid="adapt-discard" onClick={discardAdapted}>
            Keep the original
          </button>
        </div>
      )}
    </div>
  );
}

function AdaptedHere() {
  const registry = useStore((s) => s.registry);
  const local = (registry ?? []).filter((e) => e.local);
  if (local.length === 0) return null;
  return (
    <div data-testid="adapted-here">
      <h3 className="small muted">Adapted here (kept in this browser)</h3>
      <ul className="adapt-list">
        {local.map((e) => (
          <li key={e.id} data-testid="adapted-model" data-model={e.id}>
            <span>
              {e.manifest?.name ?? e.id}
              {e.error && <span className="warn small"> — {e.error}</span>}
            </span>
            {e.manifest?.adapted && (
              <span className="small muted">
                {' '}
                {Object.entries(e.manifest.adapted.scans)
                  .map(([c, n]) => `${n} ${c}`)
                  .join(', ')}
                , {e.manifest.adapted.date.slice(0, 10)}
              </span>
            )}
            <span className="adapt-actions">
              <button
                type="button"
                data-testid="adapt-export"
                disabled={!e.manifest}
                onClick={() => void exportAdapted(e.id)}
              >
                Export (zip)
              </button>
              <button type="button" data-testid="adapt-remove" onClick={() => void removeAdapted(e.id)}>
                Remove
              </button>
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function AdaptPanel() {
  const registry = useStore((s) => s.registry);
  const modelId = useStore((s) => s.modelId);
  const scans = useStore((s) => s.adaptScans);
  const phase = useStore((s) => s.adaptPhase);
  const error = useStore((s) => s.adaptError);
  const outcome = useStore((s) => s.adaptOutcome);
  const { setAdaptLabel, removeAdaptScan } = useStore.getState();
  const fileInput = useRef<HTMLInputElement>(null);
  const entry = registry?.find((e) => e.id === modelId && e.manifest?.dims === 3);
  const manifest = entry?.manifest;
  const busy = phase === 'running';
  const onDrop = (e: DragEvent) => {
    // The page's own drop handler would open the scans in the viewer.
    e.preventDefault();
    e.stopPropagation();
    if (!busy) void filesFromDrop(e.dataTransfer).then(addAdaptFiles);
  };
  const check = manifest ? checkScans(scans, manifest.classes) : null;

  return (
    <section className="panel" data-testid="adapt-panel">
      <h2>Adapt to this site</h2>
      {!manifest ? (
        <p className="muted small">Choose a 3D model above to adapt it to your own labelled scans.</p>
      ) : (
        <>
          <p className="small muted">
            Fine-tunes the head of {manifest.name} on your own labelled scans (at least 3 of each class), here in this
            browser: the scans are never sent anywhere.
          </p>
          <p className="small muted">
            Only the head changes, so adaptation can move the threshold and calibration to your site but cannot recover
            lesion evidence that the frozen backbone misses: on three simulated protocols it did not raise the AUC, and
            a head fitted on 96 scans of each did no better than the original one (results page, Site adaptation).
          </p>
          <div
            className="adapt-drop"
            data-testid="adapt-drop"
            onDragOver={(e) => {
              e.preventDefault();
              e.stopPropagation();
            }}
            onDrop={onDrop}
          >
            Drop NIfTI scans or DICOM series (files or folders) here, or{' '}
            <button type="button" disabled={busy} onClick={() => fileInput.current?.click()}>
              pick them…
            </button>
            <input
              ref={fileInput}
              type="file"
              multiple
              hidden
              data-testid="adapt-files"
              onChange={(e) => {
                void addAdaptFiles(Array.from(e.target.files ?? [], (file) => ({ file, path: '' })));
                e.target.value = '';
              }}
            />
          </div>
          {scans.length > 0 && (
            <table className="adapt-scans" data-testid="adapt-scans">
              <tbody>
                {scans.map((s) => (
                  <tr key={s.key} data-testid="adapt-scan" data-state={s.state} data-kind={s.source?.kind}>
                    <td className="adapt-name">
                      {s.name}
                      {s.sequence && s.sequence !== 'unknown' && s.sequence !== manifest.sequence && (
                        <span className="warn small">
                          {' '}
                          ⚠ {s.sequence}, the model is {manifest.sequence}
                        </span>
                      )}
                      {s.error && (
                        <span className="warn small" data-testid="adapt-scan-error">
                          <br />
                          {s.error}
                        </span>
                      )}
                    </td>
                    <td>
                      <select
                        aria-label={`label of ${s.name}`}
                        data-testid="adapt-label"
                        value={s.label ?? ''}
                        disabled={busy || !s.source}
                        onChange={(e) => setAdaptLabel(s.key, e.target.value || null)}
                      >
                        <option value="">label…</option>
                        {manifest.classes.map((c) => (
                          <option key={c} value={c}>
                            {c}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td className="small">{STATE[s.state]}</td>
                    <td>
                      <button
                        type="button"
                        aria-label={`remove ${s.name}`}
                        disabled={busy}
                        onClick={() => removeAdaptScan(s.key)}
                      >
                        ×
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {check?.message && (
            <p
              className={`small ${check.force ? 'warn' : 'muted'}`}
              role={check.force ? 'alert' : undefined}
              data-testid="adapt-label-check"
            >
              {check.message}
            </p>
          )}
          <div className="adapt-actions">
            {busy ? (
              <button type="button" data-testid="adapt-cancel" onClick={cancelAdaptation}>
                Cancel
              </button>
            ) : (
              <button type="button" data-testid="adapt-run" disabled={!check?.ok} onClick={() => void runAdaptation()}>
                {check?.force ? 'Adapt anyway' : 'Adapt'}
              </button>
            )}
          </div>
          {busy && <Progress />}
          {phase === 'cancelled' && (
            <p className="small muted" data-testid="adapt-cancelled">
              Cancelled; nothing was kept.
            </p>
          )}
          {phase === 'failed' && error && (
            <p className="warn" role="alert" data-testid="adapt-error">
              {error}
            </p>
          )}
          {outcome && <Outcome outcome={outcome} source={registry?.find((e) => e.id === outcome.sourceId)?.manifest} />}
        </>
      )}
      <AdaptedHere />
    </section>
  );
}
