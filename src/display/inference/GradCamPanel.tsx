/** Grad-CAM overlay controls (show, opacity, threshold) and the effect that draws it over the scan in the viewer. */
import { useEffect } from 'react';
import { useStore } from '../store/index.ts';
import { viewer } from '../viewer/index.ts';
import type { Volume } from '../../core/volume.ts';

const OVERLAY = 'gradcam';

/** Resolves once the browser has produced the next frame (rAF runs before it; the timeout after). */
function afterNextPaint(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

function maxOf(a: Float32Array): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return m;
}

function meanOf(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

export function GradCamPanel() {
  const runs = useStore((s) => s.runs);
  const scan = useStore((s) => s.scan);
  const scanVersion = useStore((s) => s.scanVersion);
  const overlay = useStore((s) => s.overlay);
  const setOverlay = useStore((s) => s.setOverlay);
  const run = runs.find((r) => r.scanVersion === scanVersion && r.result.gradCam);
  const cam = run?.result.gradCam;

  useEffect(() => {
    if (!scan || !cam || !overlay.visible) {
      void viewer.removeOverlay(OVERLAY);
      return;
    }
    const vol: Volume = {
      dims: scan.volume.dims,
      spacing: scan.volume.spacing,
      affine: scan.volume.affine,
      datatype: 'float32',
      data: cam,
    };
    let live = true;
    // The result card paints first: the overlay's layer refresh (about a second of a software GPU
    // on a CPU-only machine) would otherwise hold back the frame that shows the answer.
    void afterNextPaint()
      .then(() =>
        live
          ? viewer.setOverlay(OVERLAY, vol, {
              colormap: 'warm',
              opacity: overlay.opacity,
              min: overlay.threshold,
              max: 1,
            })
          : undefined,
      )
      .then(() => void (live && performance.mark('qumri:overlay-shown')));
    return () => {
      live = false;
    };
  }, [scan, cam, overlay.visible, overlay.opacity, overlay.threshold]);

  return (
    <section className="panel" data-testid="gradcam-panel">
      <h2>Explanation (Grad-CAM)</h2>
      {!cam && <p className="muted">Appears after classification.</p>}
      {cam && run && (
        <>
          <p className="small">
            Regions that raised the log-odds of <strong>{run.result.label}</strong> for {run.manifest.name} (gradients
            through the{' '}
            {run.manifest.architecture.head === 'quantum'
              ? 'quantum circuit (adjoint) and dense layers'
              : 'dense layers'}
            ).
          </p>
          {run.result.gradCamCells && (
            <p className="small muted" data-testid="gradcam-cells">
              {run.manifest.outputs.cam
                ? `Computed on the output of backbone stage ${run.manifest.outputs.cam.stage} (the gradient carried back through the later stages)`
                : 'Computed on the backbone\u2019s last feature map'}
              , {run.result.gradCamCells.join('×')} cells over the {run.manifest.preprocess.grid.join('×')} model input,
              then interpolated onto the scan: it points at a region, not at a lesion.
            </p>
          )}
          <label>
            <input
              type="checkbox"
              data-testid="gradcam-visible"
              checked={overlay.visible}
              onChange={(e) => setOverlay({ visible: e.target.checked })}
            />{' '}
            Show overlay
          </label>
          <label>
            Opacity{' '}
            <input
              type="range"
              min={0}
              max={1}
              step={0.05}
              value={overlay.opacity}
              data-testid="gradcam-opacity"
              onChange={(e) => setOverlay({ opacity: Number(e.target.value) })}
            />
          </label>
          <label>
            Threshold{' '}
            <input
              type="range"
              min={0}
              max={0.95}
              step={0.05}
              value={overlay.threshold}
              data-testid="gradcam-threshold"
              onChange={(e) => setOverlay({ threshold: Number(e.target.value) })}
            />
          </label>
          <span data-testid="gradcam-ready" data-max={maxOf(cam)} data-mean={meanOf(cam)} hidden />
        </>
      )}
    </section>
  );
}
