/** The viewer canvas: shows the store's scan and follows the layout and colormap the user picks. */
import { useEffect, useRef } from 'react';
import { useStore } from '../store/index.ts';
import { viewer } from './qu-viewer.ts';

export function Viewer() {
  const canvas = useRef<HTMLCanvasElement>(null);
  const scan = useStore((s) => s.scan);
  const scanVersion = useStore((s) => s.scanVersion);
  const layout = useStore((s) => s.layout);
  const colormap = useStore((s) => s.colormap);
  const convention = useStore((s) => s.convention);
  const attached = useRef<Promise<void> | null>(null);

  useEffect(() => {
    if (!canvas.current || attached.current) return;
    const { setCrosshair, setWindow } = useStore.getState();
    attached.current = viewer.attach(canvas.current, { onCrosshair: setCrosshair, onWindow: setWindow });
  }, []);

  useEffect(() => {
    if (!scan || !attached.current) return;
    const el = canvas.current;
    el?.setAttribute('data-rendered', 'false');
    performance.mark('qumri:show-start');
    // The scan is shown once per version; layout and colormap below are cheap to re-apply. The call
    // is made now (the viewer queues it behind attach()) so that overlay removals the panels ask
    // for in this same render join the scan's one GPU update instead of costing one of their own.
    viewer
      .showScan(scan.volume, scan.info.fileName, { colormap: useStore.getState().colormap })
      .then(() => {
        viewer.setLayout(useStore.getState().layout);
        el?.setAttribute('data-rendered', 'true');
        el?.setAttribute('data-scan-version', String(scanVersion));
        performance.mark('qumri:shown');
      })
      .catch((e: unknown) => {
        useStore.getState().setError({
          code: 'internal',
          message: `The viewer could not display ${scan.info.fileName}: ${e instanceof Error ? e.message : String(e)}`,
          canTakeFirstVolume: false,
        });
      });
  }, [scan, scanVersion]);

  useEffect(() => viewer.setLayout(layout), [layout]);
  useEffect(() => viewer.setColormap(colormap), [colormap]);
  useEffect(() => viewer.setConvention(convention), [convention]);

  return (
    <div className="viewer">
      <canvas ref={canvas} data-testid="viewer-canvas" aria-label="MRI viewer" />
    </div>
  );
}
