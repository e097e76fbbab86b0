/** Model picker: shipped models by task, then those adapted in this browser, flagged when their sequence differs from the scan's, a comparison model, the backend. */
import { useStore, selectSequence } from '../store/index.ts';
import { sequenceMismatch } from './inference-slice.ts';
import { changeBackend, classifyCurrent } from './controller.ts';
import { hasCurrentResult } from './auto-classify.ts';
import { WrappingSelect } from '../panels/WrappingSelect.tsx';
import type { RegistryEntry } from '../../core/bundle/index.ts';

const BACKENDS = { auto: 'Auto (WebGPU if it checks out, else WASM)', webgpu: 'WebGPU', wasm: 'WASM' } as const;

function label(e: RegistryEntry, seq: string): string {
  if (!e.manifest) return `${e.id} (unusable)`;
  return `${e.manifest.name}${sequenceMismatch(e.manifest, seq) && seq !== 'unknown' ? ` ⚠ ${e.manifest.sequence} model` : ''}`;
}

export function ModelPicker() {
  const registry = useStore((s) => s.registry);
  const registryError = useStore((s) => s.registryError);
  const modelId = useStore((s) => s.modelId);
  const compareId = useStore((s) => s.compareId);
  const backendChoice = useStore((s) => s.backendChoice);
  const confirmed = useStore((s) => s.mismatchConfirmed);
  const scan = useStore((s) => s.scan);
  const seq = useStore(selectSequence);
  const done = useStore((s) => hasCurrentResult(s.runs, s.scanVersion, s.modelId));
  const { setModelId, setCompareId, confirmMismatch } = useStore.getState();
  const usable = (registry ?? []).filter((e) => e.manifest && e.manifest.dims === 3);
  const broken = (registry ?? []).filter((e) => e.error);
  const tasks = [...new Set(usable.filter((e) => !e.local).map((e) => e.manifest!.task))];
  const adaptedHere = usable.filter((e) => e.local);
  const chosen = [modelId, compareId]
    .map((id) => usable.find((e) => e.id === id)?.manifest)
    .filter((m) => m !== undefined);
  const mismatch = chosen.filter((m) => sequenceMismatch(m, seq));
  const shown = (id: string | null, none: string) => {
    const e = usable.find((x) => x.id === id);
    return e ? label(e, seq) : none;
  };

  const options = (exclude?: string | null) => [
    ...tasks.map((t) => (
      <optgroup key={t} label={t.toUpperCase()}>
        {usable
          .filter((e) => !e.local && e.manifest!.task === t && e.id !== exclude)
          .map((e) => (
            <option key={e.id} value={e.id}>
              {label(e, seq)}
            </option>
          ))}
      </optgroup>
    )),
    ...(adaptedHere.some((e) => e.id !== exclude)
      ? [
          <optgroup key="adapted-here" label="ADAPTED HERE (kept in this browser)" data-testid="adapted-here-group">
            {adaptedHere
              .filter((e) => e.id !== exclude)
              .map((e) => (
                <option key={e.id} value={e.id} data-adapted-here="true">
                  {label(e, seq)}
                </option>
              ))}
          </optgroup>,
        ]
      : []),
  ];

  return (
    <section className="panel" data-testid="model-picker">
      <h2>Model</h2>
      {registryError && (
        <p className="warn" role="alert" data-testid="registry-error">
          {registryError}
        </p>
      )}
      {!registry && !registryError && <p className="muted">Reading the model list…</p>}
      {registry && (
        <>
          <div className="field">
            <label htmlFor="model-select">Model</label>
            <WrappingSelect
              id="model-select"
              data-testid="model-select"
              text={shown(modelId, 'Choose…')}
              value={modelId ?? ''}
              onChange={(e) => setModelId(e.target.value || null)}
            >
              {!modelId && <option value="">Choose…</option>}
              {options()}
            </WrappingSelect>
          </div>
          <div className="field">
            <label htmlFor="compare-select">Compare with</label>
            <WrappingSelect
              id="compare-select"
              data-testid="compare-select"
              text={shown(compareId, '(none)')}
              value={compareId ?? ''}
              onChange={(e) => setCompareId(e.target.value || null)}
            >
              <option value="">(none)</option>
              {options(modelId)}
            </WrappingSelect>
          </div>
          <div className="field">
            <label htmlFor="backend-select">Backend</label>
            <WrappingSelect
              id="backend-select"
              data-testid="backend-select"
              text={BACKENDS[backendChoice]}
              value={backendChoice}
              onChange={(e) => void changeBackend(e.target.value as keyof typeof BACKENDS)}
            >
              {Object.entries(BACKENDS).map(([v, t]) => (
                <option key={v} value={v}>
                  {t}
                </option>
              ))}
            </WrappingSelect>
          </div>
          {broken.map((e) => (
            <p key={e.id} className="warn small" data-testid="model-broken">
              {e.id}: {e.error}
            </p>
          ))}
        </>
      )}
      {scan && mismatch.length > 0 && !confirmed && (
        <div className="warn" role="alert" data-testid="sequence-mismatch">
          <p>
            {seq === 'unknown'
              ? `The scan's sequence is unknown; the model expects ${mismatch.map((m) => m.sequence).join(' / ')}. Choose it in the Scan panel and classification starts, or classify anyway.`
              : `This is a ${seq} scan but ${mismatch.map((m) => m.name).join(' and ')} ${mismatch.length > 1 ? 'were' : 'was'} trained on ${mismatch.map((m) => m.sequence).join(' / ')}. The result may be meaningless.`}
          </p>
          <button type="button" data-testid="confirm-mismatch" onClick={() => confirmMismatch(true)}>
            Classify anyway
          </button>
        </div>
      )}
      {scan && (mismatch.length === 0 || confirmed) && (
        // Classification starts by itself (auto-classify.ts): this runs it again, or after an error.
        <button type="button" data-testid="classify-again" onClick={() => void classifyCurrent()}>
          {done ? 'Classify again' : 'Classify'}
        </button>
      )}
    </section>
  );
}
