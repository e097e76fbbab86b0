/** Model picker: shipped models by task, flagged when their sequence differs from the scan's, a comparison model, the backend. */
import { useStore, selectSequence } from '../store/index.ts';
import { sequenceMismatch } from './inference-slice.ts';
import { changeBackend, classifyCurrent } from './controller.ts';
import type { RegistryEntry } from '../../core/bundle/index.ts';

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
  const { setModelId, setCompareId, confirmMismatch } = useStore.getState();
  const usable = (registry ?? []).filter((e) => e.manifest && e.manifest.dims === 3);
  const broken = (registry ?? []).filter((e) => e.error);
  const tasks = [...new Set(usable.map((e) => e.manifest!.task))];
  const chosen = [modelId, compareId].map((id) => usable.find((e) => e.id === id)?.manifest).filter((m) => m !== undefined);
  const mismatch = chosen.filter((m) => sequenceMismatch(m, seq));

  const options = (exclude?: string | null) =>
    tasks.map((t) => (
      <optgroup key={t} label={t.toUpperCase()}>
        {usable.filter((e) => e.manifest!.task === t && e.id !== exclude).map((e) => <option key={e.id} value={e.id}>{label(e, seq)}</option>)}
      </optgroup>
    ));

  return (
    <section className="panel" data-testid="model-picker">
      <h2>Model</h2>
      {registryError && <p className="warn" role="alert" data-testid="registry-error">{registryError}</p>}
      {!registry && !registryError && <p className="muted">Reading the model list…</p>}
      {registry && (
        <>
          <label htmlFor="model-select">Model</label>
          <select id="model-select" data-testid="model-select" value={modelId ?? ''} onChange={(e) => setModelId(e.target.value || null)}>
            {!modelId && <option value="">Choose…</option>}
            {options()}
          </select>
          <label htmlFor="compare-select">Compare with</label>
          <select id="compare-select" data-testid="compare-select" value={compareId ?? ''} onChange={(e) => setCompareId(e.target.value || null)}>
            <option value="">(none)</option>
            {options(modelId)}
          </select>
          <label htmlFor="backend-select">Backend</label>
          <select id="backend-select" data-testid="backend-select" value={backendChoice} onChange={(e) => void changeBackend(e.target.value as 'auto' | 'webgpu' | 'wasm')}>
            <option value="auto">Auto (WebGPU if it checks out, else WASM)</option>
            <option value="webgpu">WebGPU</option>
            <option value="wasm">WASM</option>
          </select>
          {broken.map((e) => <p key={e.id} className="warn small" data-testid="model-broken">{e.id}: {e.error}</p>)}
        </>
      )}
      {scan && mismatch.length > 0 && !confirmed && (
        <div className="warn" role="alert" data-testid="sequence-mismatch">
          <p>
            {seq === 'unknown'
              ? `The scan's sequence is unknown; the model expects ${mismatch.map((m) => m.sequence).join(' / ')}. Set it in the Scan panel, or run anyway.`
              : `This is a ${seq} scan but ${mismatch.map((m) => m.name).join(' and ')} ${mismatch.length > 1 ? 'were' : 'was'} trained on ${mismatch.map((m) => m.sequence).join(' / ')}. The result may be meaningless.`}
          </p>
          <button type="button" data-testid="confirm-mismatch" onClick={() => confirmMismatch(true)}>Classify anyway</button>
        </div>
      )}
      {scan && (mismatch.length === 0 || confirmed) && (
        <button type="button" data-testid="classify-again" onClick={() => void classifyCurrent()}>Classify again</button>
      )}
    </section>
  );
}
