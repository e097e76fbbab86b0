/**
 * The answer: probability, class at the model's threshold, per-stage timings and the backend badge; two
 * columns in comparison mode. An answer the guards withhold (sequence read from a DICOM series'
 * acquisition times or the image, OOD check) is still shown, greyed, under the reasons.
 */
import { useStore } from '../store/index.ts';
import type { ModelRun } from './inference-slice.ts';

const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`);

function RunCard({ run, scanLoadMs }: { run: ModelRun; scanLoadMs: number | null }) {
  const { result, manifest, model } = run;
  const p = result.probability;
  const { detected, verdict } = result.guard;
  const stages: [string, number][] = [
    ...(scanLoadMs !== null ? [['Scan load (read + show)', scanLoadMs] as [string, number]] : []),
    ['Model load (verify + session)', model.loadMs],
    ['Preprocess', result.timings.preprocessMs],
    ['Backbone', result.timings.backboneMs],
    ['Head', result.timings.headMs],
    ...(result.timings.explainMs !== undefined
      ? [['Grad-CAM (head backward + backbone VJP)', result.timings.explainMs] as [string, number]]
      : []),
  ];
  return (
    <div
      className={`result-card${verdict.withheld ? ' withheld' : ''}`}
      data-testid="result-card"
      data-model={run.modelId}
      data-scan-version={run.scanVersion}
      data-withheld={verdict.withheld}
    >
      <h3>{manifest.name}</h3>
      {verdict.withheld && (
        <div className="warn" role="alert" data-testid="result-withheld">
          <strong>Unreliable answer, shown greyed:</strong>
          <ul>
            {verdict.reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </div>
      )}
      {/* elementtiming: the benchmark reads when the answer was first painted (Element Timing API). */}
      <p className="result-class" data-testid="result-class" {...{ elementtiming: `qumri-result-${run.scanVersion}` }}>
        {result.label}
      </p>
      <div className="prob-bar" aria-hidden="true">
        <div style={{ width: `${(p * 100).toFixed(1)}%` }} />
        <span style={{ left: `${manifest.threshold * 100}%` }} />
      </div>
      <dl className="kv">
        <div>
          <dt>P({manifest.classes[1]})</dt>
          <dd data-testid="result-probability" data-value={p}>
            {p.toFixed(4)}
          </dd>
        </div>
        {result.calibratedProbability !== undefined && (
          <div>
            <dt>Calibrated P</dt>
            <dd data-testid="result-calibrated">{result.calibratedProbability.toFixed(3)} (Platt, on validation)</dd>
          </div>
        )}
        <div>
          <dt>{detected?.from === 'acquisition' ? 'Sequence (acquisition)' : 'Sequence in the image'}</dt>
          <dd data-testid="result-detected-sequence" data-from={detected?.from} title={detected?.evidence}>
            {detected ? `${detected.sequence} (${detected.evidence})` : 'not read (input on the model grid)'}
          </dd>
        </div>
        <div>
          <dt>Like the training data</dt>
          <dd data-testid="result-ood" data-in-distribution={String(verdict.inDistribution)}>
            {result.oodScore === undefined || !manifest.ood
              ? 'not checked (this model has no OOD model)'
              : `${verdict.inDistribution ? 'yes' : 'no'}: OOD score ${result.oodScore.toFixed(2)} (threshold ${manifest.ood.threshold.toFixed(2)}, passed by ${(manifest.ood.validation_pass_rate * 100).toFixed(0)} % of validation scans)`}
          </dd>
        </div>
        <div>
          <dt>Threshold</dt>
          <dd data-testid="result-threshold">{manifest.threshold.toFixed(3)} (chosen on validation)</dd>
        </div>
        <div>
          <dt>Backend</dt>
          <dd>
            <span className={`badge badge-${result.backend}`} data-testid="backend-badge">
              {result.backend.toUpperCase()}
            </span>
          </dd>
        </div>
        {stages.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd data-testid={`timing-${k.split(' ')[0].toLowerCase()}`} data-ms={v}>
              {ms(v)}
            </dd>
          </div>
        ))}
      </dl>
      {(result.fallbackReason ?? model.fallbackReason) && (
        <p className="muted small" data-testid="fallback-reason">
          {result.fallbackReason ?? model.fallbackReason}
        </p>
      )}
    </div>
  );
}

export function ResultPanel() {
  const runs = useStore((s) => s.runs);
  const status = useStore((s) => s.inferenceStatus);
  const error = useStore((s) => s.inferenceError);
  const scanVersion = useStore((s) => s.scanVersion);
  const scanLoadMs = useStore((s) => s.scanLoadMs);
  const current = runs.filter((r) => r.scanVersion === scanVersion);
  return (
    <section className="panel" data-testid="result-panel">
      <h2>Result</h2>
      {status && (
        <p className="muted" data-testid="inference-status" aria-live="polite">
          {status}
        </p>
      )}
      {error && (
        <p className="warn" role="alert" data-testid="inference-error">
          {error}
        </p>
      )}
      {current.length === 0 && !status && !error && <p className="muted">Load a scan and choose a model.</p>}
      <div className={current.length > 1 ? 'result-compare' : undefined}>
        {current.map((r) => (
          <RunCard key={r.modelId} run={r} scanLoadMs={scanLoadMs} />
        ))}
      </div>
      {current.length > 1 && (
        <p className="small" data-testid="compare-delta">
          Difference in P: {(current[1].result.probability - current[0].result.probability).toFixed(4)};{' '}
          {current[0].result.cls === current[1].result.cls
            ? 'both models agree on the class'
            : 'the models disagree on the class'}
          .
        </p>
      )}
      <p className="muted small">A research and teaching demonstration. Not a medical device; not for diagnosis.</p>
    </section>
  );
}
