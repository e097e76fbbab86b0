/** View controls: layout, colormap, window/level, and the crosshair position and intensity. */
import { useEffect, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useStore, type Layout } from '../store/index.ts';
import { viewer } from '../viewer/qu-viewer.ts';
import { fmt } from './format.ts';

const LAYOUTS: [Layout, string][] = [
  ['axial', 'Axial'],
  ['coronal', 'Coronal'],
  ['sagittal', 'Sagittal'],
  ['multiplanar', 'MPR + 3D'],
  ['render', '3D'],
];
const COLORMAPS = ['gray', 'hot', 'winter', 'viridis', 'plasma', 'inferno', 'bone'];

export function ViewControls() {
  // Only the view fields: inference and preprocessing updates must not re-render these controls.
  const {
    layout,
    colormap,
    convention,
    window: win,
    crosshair,
    setLayout,
    setColormap,
    setConvention,
    setWindow,
  } = useStore(
    useShallow((s) => ({
      layout: s.layout,
      colormap: s.colormap,
      convention: s.convention,
      window: s.window,
      crosshair: s.crosshair,
      setLayout: s.setLayout,
      setColormap: s.setColormap,
      setConvention: s.setConvention,
      setWindow: s.setWindow,
    })),
  );
  const scan = useStore((s) => s.scan);
  const [draft, setDraft] = useState({ min: '', max: '' });
  useEffect(() => setDraft({ min: win ? fmt(win.min) : '', max: win ? fmt(win.max) : '' }), [win]);

  const applyWindow = () => {
    const min = Number(draft.min);
    const max = Number(draft.max);
    if (Number.isFinite(min) && Number.isFinite(max) && max > min) {
      viewer.setWindow(min, max);
      setWindow({ min, max });
    } else {
      setDraft({ min: win ? fmt(win.min) : '', max: win ? fmt(win.max) : '' });
    }
  };

  return (
    <section className="panel" data-testid="view-controls">
      <h2>View</h2>
      <div className="segmented" role="group" aria-label="Layout">
        {LAYOUTS.map(([id, label]) => (
          <button
            key={id}
            className={id === layout ? 'active' : ''}
            aria-pressed={id === layout}
            data-testid={`layout-${id}`}
            onClick={() => setLayout(id)}
          >
            {label}
          </button>
        ))}
      </div>
      <div
        className="segmented"
        role="group"
        aria-label="Left-right convention"
        title="Axial and coronal slices; the exported report follows the same convention"
      >
        <button
          className={convention === 'radiological' ? 'active' : ''}
          aria-pressed={convention === 'radiological'}
          data-testid="convention-radiological"
          onClick={() => setConvention('radiological')}
        >
          Radiological (R on left)
        </button>
        <button
          className={convention === 'neurological' ? 'active' : ''}
          aria-pressed={convention === 'neurological'}
          data-testid="convention-neurological"
          onClick={() => setConvention('neurological')}
        >
          Neurological
        </button>
      </div>
      <div className="row">
        <label htmlFor="colormap">Colormap</label>
        <select
          id="colormap"
          data-testid="colormap-select"
          value={colormap}
          onChange={(e) => setColormap(e.target.value)}
        >
          {COLORMAPS.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </div>
      <div className="row window" title="Right-drag on the image also sets the window">
        <label>Window</label>
        <input
          aria-label="window minimum"
          data-testid="window-min"
          value={draft.min}
          disabled={!scan}
          onChange={(e) => setDraft({ ...draft, min: e.target.value })}
          onBlur={applyWindow}
          onKeyDown={(e) => e.key === 'Enter' && applyWindow()}
        />
        <span>…</span>
        <input
          aria-label="window maximum"
          data-testid="window-max"
          value={draft.max}
          disabled={!scan}
          onChange={(e) => setDraft({ ...draft, max: e.target.value })}
          onBlur={applyWindow}
          onKeyDown={(e) => e.key === 'Enter' && applyWindow()}
        />
        <button
          disabled={!scan}
          onClick={() => {
            const w = viewer.autoWindow();
            if (w) setWindow(w);
          }}
        >
          Auto
        </button>
      </div>
      <div className="readout" data-testid="crosshair-readout">
        {crosshair ? (
          <>
            <span>RAS {crosshair.mm.map((v) => fmt(v, 1)).join(', ')} mm</span>
            <span>voxel {crosshair.vox.join(', ')}</span>
            <span>
              value <b data-testid="crosshair-value">{fmt(crosshair.value, 3)}</b>
            </span>
          </>
        ) : (
          <span className="muted">Click the image to place the crosshair.</span>
        )}
      </div>
    </section>
  );
}
