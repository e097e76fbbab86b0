/** The model card: training data (plainly saying when it is synthetic), a site adaptation's card, metrics with intervals, intended use, limitations. */
import { useStore } from '../store/index.ts';
import type { Adaptation, Manifest, MetricValue } from '../../core/bundle/index.ts';

const METRICS: [string, string][] = [
  ['auc', 'AUC'],
  ['acc', 'Accuracy'],
  ['sen', 'Sensitivity'],
  ['spe', 'Specificity'],
];

function metric(m: Manifest, key: string): string | null {
  const v = m.metrics[key] as MetricValue | undefined;
  if (!v || typeof v !== 'object' || typeof v.value !== 'number') return null;
  return `${v.value.toFixed(3)}${v.ci95 ? ` (95 % CI ${v.ci95[0].toFixed(3)}–${v.ci95[1].toFixed(3)})` : ''}`;
}

const interval = (v: MetricValue): string =>
  `${v.value.toFixed(3)}${v.ci95 ? ` (${v.ci95[0].toFixed(3)}–${v.ci95[1].toFixed(3)})` : ''}`;

/** A site adaptation's card (manifest `adapted`): from which model, on what, and its cross-validated numbers. */
function AdaptedCard({ a }: { a: Adaptation }) {
  const { before, after } = a.metrics;
  return (
    <p data-testid="model-card-adapted">
      <strong>Adapted</strong> from {a.from.name} ({a.from.id}) on {a.date.slice(0, 10)}: head fine-tuned on{' '}
      {Object.entries(a.scans)
        .map(([c, n]) => `${n} ${c}`)
        .join(', ')}{' '}
      local scans, {a.epochs} of {a.settings.max_epochs} steps kept by {a.cross_validation}. Cross-validated on those
      scans, AUC {interval(before.auc)} → {interval(after.auc)}, accuracy {interval(before.acc)} → {interval(after.acc)}
      . The scans never left the machine.
    </p>
  );
}

export function ModelCardView({ manifest: m }: { manifest: Manifest }) {
  const rows = METRICS.map(([k, name]) => [name, metric(m, k)] as const).filter(([, v]) => v !== null);
  const td = m.training_data;
  return (
    <div className="model-card" data-testid="model-card">
      <h3>{m.name}</h3>
      <p>
        <strong>Task:</strong> {m.classes[1]} vs {m.classes[0]} · <strong>Sequence:</strong> {m.sequence} ·{' '}
        <strong>Head:</strong> {m.architecture.head} ({m.architecture.backbone}
        {m.architecture.paper ? `, paper ${m.architecture.paper}` : ''})
      </p>
      <p data-testid="model-card-data">
        <strong>Training data:</strong>{' '}
        {td.synthetic ? <span className="warn">Synthetic phantoms, not patient scans. </span> : null}
        {td.description ?? ''}
      </p>
      {m.adapted && <AdaptedCard a={m.adapted} />}
      {rows.length > 0 ? (
        <dl className="kv">
          {rows.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
          <div>
            <dt>Evaluated on</dt>
            <dd>
              {String(m.metrics.split ?? 'test')}
              {m.adapted ? '' : ' split'}, n = {String(m.metrics.n ?? '?')}
            </dd>
          </div>
        </dl>
      ) : (
        <p className="muted">No evaluation metrics in this bundle.</p>
      )}
      <div data-testid="model-card-real">
        <strong>On real scans:</strong>{' '}
        {m.real_scans ? (
          <>
            {m.real_scans.measured_on}
            <ul>
              {m.real_scans.results.map((r) => (
                <li key={r.what}>
                  {r.what}: {r.n} of {r.of}
                </li>
              ))}
            </ul>
            {m.real_scans.fails?.length ? (
              <p className="warn" data-testid="model-card-fails">
                <strong>Fails its checks on real scans</strong> ({m.real_scans.fails.join('; ')}): its class is withheld
                on every scan but the bundled demo phantoms.
              </p>
            ) : null}
            <span className="warn">{m.real_scans.unmeasured}</span>
          </>
        ) : (
          <span className="warn">not measured on any real scan.</span>
        )}
      </div>
      <p className="small">
        <strong>Guards:</strong>{' '}
        {m.calibration
          ? `probabilities calibrated by Platt scaling (${m.calibration.fitted_on}; ECE ${m.calibration.ece_before.toFixed(3)} → ${m.calibration.ece_after.toFixed(3)}); `
          : 'no calibration; '}
        {m.ood
          ? `out-of-distribution check on the backbone features (${m.ood.fitted_on}).`
          : 'no out-of-distribution check: an unusual scan is not flagged.'}
      </p>
      <p>
        <strong>Intended use:</strong> {m.intended_use}
      </p>
      <ul>
        {m.limitations.map((l) => (
          <li key={l}>{l}</li>
        ))}
      </ul>
      <p className="warn" data-testid="model-card-not-medical">
        <strong>Not a medical device.</strong> Do not use for diagnosis or treatment decisions.
      </p>
    </div>
  );
}

export function ModelCardPanel() {
  const registry = useStore((s) => s.registry);
  const modelId = useStore((s) => s.modelId);
  const manifest = registry?.find((e) => e.id === modelId)?.manifest;
  return (
    <section className="panel" data-testid="model-card-panel">
      <h2>Model card</h2>
      {manifest ? <ModelCardView manifest={manifest} /> : <p className="muted">No model chosen.</p>}
    </section>
  );
}
