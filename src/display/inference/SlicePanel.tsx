/** Paper B in the page: classify the current axial or sagittal slice (224×224) with a 2D model, or a dropped PNG/JPEG slice. */
import { useEffect, useRef, useState } from 'react';
import { useStore } from '../store/index.ts';
import * as bridge from './bridge.ts';
import { WrappingSelect } from '../panels/WrappingSelect.tsx';
import {
  displayLabels,
  inputForDisplay,
  middleSliceIndex,
  pictureInput,
  sliceIndexAt,
  type Convention,
  type Plane,
} from '../../core/preprocess/slice2d.ts';
import type { LoadedModel, SliceRun } from '../../core/protocol.ts';
import { namedPlane, noSliceModelText } from '../../core/bundle/withdrawn.ts';

const PLANES: Plane[] = ['axial', 'sagittal'];

type Answer = SliceRun & { model: LoadedModel };

interface ShownRun extends Answer {
  source: string;
  /** The volume slice's plane, or null for a dropped picture. */
  plane: Plane | null;
}

async function decodePicture(file: File): Promise<Float32Array> {
  // Raw pixel values, as PIL reads a training PNG: no colour management, no premultiplied alpha.
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' }).catch(() => {
    throw new Error(`${file.name}: not a PNG or JPEG image the browser can decode`);
  });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext('2d')!;
  g.drawImage(bitmap, 0, 0);
  return pictureInput(g.getImageData(0, 0, bitmap.width, bitmap.height).data, bitmap.width, bitmap.height);
}

/** The model input and its Grad-CAM (tensor layout), oriented as the viewer shows the plane. */
function draw(canvas: HTMLCanvasElement, run: ShownRun, convention: Convention, threshold: number): void {
  const input = inputForDisplay(run.input, run.plane, convention);
  const cam = run.result.gradCam && inputForDisplay(run.result.gradCam, run.plane, convention);
  const img = new ImageData(224, 224);
  for (let p = 0; p < input.length; p++) {
    const g = input[p] * 255;
    const c = cam?.[p] ?? 0;
    const hot = c > threshold;
    img.data.set(hot ? [0.5 * g + 127, 0.5 * g + 127 * c, 0.5 * g, 255] : [g, g, g, 255], p * 4);
  }
  canvas.getContext('2d')!.putImageData(img, 0, 0);
}

export function SlicePanel() {
  const registry = useStore((s) => s.registry);
  const scan = useStore((s) => s.scan);
  const crosshair = useStore((s) => s.crosshair);
  const threshold = useStore((s) => s.overlay.threshold);
  const convention = useStore((s) => s.convention);
  const withdrawn = useStore((s) => s.withdrawn);
  const models = (registry ?? []).filter((e) => e.manifest?.dims === 2);
  const covered = PLANES.filter((p) => models.some((e) => (namedPlane(e.manifest!.name) ?? p) === p));
  const [modelId, setModelId] = useState<string>('');
  const [run, setRun] = useState<ShownRun | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const chosen = modelId || models[0]?.id || '';
  const labels = run && displayLabels(run.plane, convention);

  useEffect(() => {
    if (run && canvas.current) draw(canvas.current, run, convention, threshold);
  }, [run, convention, threshold]);

  async function classify(source: string, plane: Plane | null, answer: () => Promise<Answer>): Promise<void> {
    setBusy(`Classifying ${source}…`);
    setError(null);
    try {
      setRun({ source, plane, ...(await answer()) });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(null);
    }
  }

  function classifySlice(plane: Plane): void {
    if (!scan) return;
    const { volume } = scan;
    // The slice through the crosshair, else the middle one; the worker cuts and scales it like the training slices, whatever the display.
    const index = crosshair
      ? sliceIndexAt(volume.dims, volume.affine, plane, crosshair.mm)
      : middleSliceIndex(volume.dims, volume.affine, plane);
    void classify(`${plane} slice ${index}`, plane, () => bridge.classifySlice(chosen, volume, plane, index));
  }

  return (
    <section className="panel" data-testid="slice-panel">
      <h2>Slice classification (2D, paper B)</h2>
      {registry &&
        PLANES.filter((p) => !covered.includes(p)).map((p) => (
          <p key={p} className="muted" data-testid={`slice-none-${p}`}>
            {withdrawn ? noSliceModelText(p, withdrawn) : `No ${p} 2D slice model is installed.`}
          </p>
        ))}
      {models.length > 0 && (
        <>
          <div className="field">
            <label htmlFor="slice-model">2D model</label>
            <WrappingSelect
              id="slice-model"
              data-testid="slice-model"
              text={models.find((e) => e.id === chosen)?.manifest!.name ?? chosen}
              value={chosen}
              onChange={(e) => setModelId(e.target.value)}
            >
              {models.map((e) => (
                <option key={e.id} value={e.id}>
                  {e.manifest!.name}
                </option>
              ))}
            </WrappingSelect>
          </div>
          <div className="slice-actions">
            {covered.map((p) => (
              <button
                key={p}
                type="button"
                data-testid={`slice-${p}`}
                disabled={!scan || !!busy}
                onClick={() => classifySlice(p)}
              >
                {p === 'axial' ? 'Axial' : 'Sagittal'} slice
              </button>
            ))}
            <label className="file-button">
              PNG/JPEG…
              <input
                type="file"
                accept="image/png,image/jpeg"
                data-testid="slice-file"
                hidden
                onChange={(e) => {
                  const f = e.target.files?.[0];
                  e.target.value = '';
                  if (f)
                    void decodePicture(f).then(
                      (input) => classify(f.name, null, () => bridge.classifySliceInput(chosen, input)),
                      (err: Error) => setError(err.message),
                    );
                }}
              />
            </label>
          </div>
        </>
      )}
      {busy && (
        <p className="muted" aria-live="polite">
          {busy}
        </p>
      )}
      {error && (
        <p className="warn" role="alert" data-testid="slice-error">
          {error}
        </p>
      )}
      {run && (
        <div data-testid="slice-result">
          <canvas ref={canvas} width={224} height={224} className="slice-canvas" />
          {labels && (
            <p className="muted" data-testid="slice-orientation">
              As the viewer shows it: {labels.left} left, {labels.right} right, {labels.top} up (the model reads the
              training slice's orientation).
            </p>
          )}
          <p>
            <strong>{run.result.label}</strong> · P({run.model.manifest.classes[1]}) ={' '}
            <span data-testid="slice-probability" data-value={run.result.probability}>
              {run.result.probability.toFixed(4)}
            </span>{' '}
            · {run.source} ·{' '}
            <span className={`badge badge-${run.result.backend}`}>{run.result.backend.toUpperCase()}</span>
          </p>
        </div>
      )}
    </section>
  );
}
