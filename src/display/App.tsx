/** The page: top bar, viewer, side panels, drop-anywhere loading, and the not-a-medical-device notice. */
import { useEffect, useState, type DragEvent } from 'react';
import { useStore } from './store/index.ts';
import { Viewer } from './viewer/Viewer.tsx';
import { HeaderPanel } from './panels/HeaderPanel.tsx';
import { ViewControls } from './panels/ViewControls.tsx';
import { ErrorBanner } from './panels/ErrorBanner.tsx';
import { SeriesChooser } from './panels/SeriesChooser.tsx';
import { OpenControls } from './panels/OpenControls.tsx';
import { InferencePanels } from './inference/InferencePanels.tsx';
import { PreprocessPanel } from './preprocess/PreprocessPanel.tsx';
import { AdaptPanel } from './adapt/AdaptPanel.tsx';
import { filesFromDrop, loadFiles, loadUrl } from './load/load-controller.ts';
import { DEMO_SCAN } from './demo.ts';
import { startOffline } from './offline.ts';

export function App() {
  const loading = useStore((s) => s.loading);
  const [dragging, setDragging] = useState(false);

  useEffect(() => {
    startOffline();
    if (useStore.getState().scan === null) void loadUrl(DEMO_SCAN.url, DEMO_SCAN.name);
  }, []);

  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const files = await filesFromDrop(e.dataTransfer);
    if (files.length > 0) await loadFiles(files);
  };

  return (
    <div
      className={`app${dragging ? ' dragging' : ''}`}
      data-testid="app"
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={(e) => void onDrop(e)}
    >
      <header className="topbar">
        <h1>QuMRI</h1>
        <span className="tagline">hybrid classical–quantum brain-MRI classification, in your browser</span>
        <OpenControls />
        <span className="status" data-testid="status" data-busy={loading ? 'true' : 'false'}>
          {loading ?? ''}
        </span>
      </header>
      <ErrorBanner />
      <main className="workspace">
        <Viewer />
        {/* Side panels, in pipeline order: scan header and view first; preprocessing and inference panels follow. */}
        <aside className="side" data-testid="side-panels">
          <HeaderPanel />
          <ViewControls />
          <PreprocessPanel />
          <InferencePanels />
          <AdaptPanel />
        </aside>
      </main>
      <footer className="notice" data-testid="not-a-medical-device">
        Research demonstration only — <strong>not a medical device</strong>. Not for diagnosis or treatment decisions.
        Scans never leave this computer.
      </footer>
      {dragging && <div className="drop-hint">Drop a NIfTI file or a DICOM folder</div>}
      <SeriesChooser />
    </div>
  );
}
