/** File picker buttons (a NIfTI file, a DICOM folder) and the demo-scan menu. */
import { useRef } from 'react';
import { loadFiles, loadUrl } from '../load/load-controller.ts';
import { DEMO_SCANS } from '../demo.ts';
import { useStore } from '../store/index.ts';

export function OpenControls() {
  const fileInput = useRef<HTMLInputElement>(null);
  const dirInput = useRef<HTMLInputElement>(null);
  const fileName = useStore((s) => s.scan?.info.fileName);
  const current = DEMO_SCANS.find((d) => d.name === fileName);
  const pick = (list: FileList | null) => {
    if (!list || list.length === 0) return;
    void loadFiles(Array.from(list).map((file) => ({ file, path: file.webkitRelativePath })));
  };
  return (
    <div className="open-controls">
      <button onClick={() => fileInput.current?.click()}>Open scan…</button>
      <button onClick={() => dirInput.current?.click()}>Open DICOM folder…</button>
      <select
        aria-label="Demo scans"
        data-testid="demo-select"
        title={current?.description ?? 'Load a bundled synthetic demo scan'}
        value={current?.name ?? ''}
        onChange={(e) => {
          const d = DEMO_SCANS.find((x) => x.name === e.target.value);
          if (d) void loadUrl(d.url, d.name);
        }}
      >
        <option value="" disabled>
          Demo scans…
        </option>
        {DEMO_SCANS.map((d) => (
          <option key={d.name} value={d.name} title={d.description}>
            {d.name} — {d.description}
          </option>
        ))}
      </select>
      <input
        ref={fileInput}
        type="file"
        multiple
        hidden
        data-testid="file-input"
        accept=".nii,.gz,.dcm,application/dicom,*"
        onChange={(e) => {
          pick(e.target.files);
          e.target.value = '';
        }}
      />
      <input
        ref={dirInput}
        type="file"
        hidden
        data-testid="dir-input"
        {...{ webkitdirectory: '', directory: '' }}
        onChange={(e) => {
          pick(e.target.files);
          e.target.value = '';
        }}
      />
    </div>
  );
}
