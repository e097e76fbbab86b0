/** File picker buttons (a NIfTI file, a DICOM folder) and the demo scan. */
import { useRef } from 'react';
import { loadFiles, loadUrl } from '../load/load-controller.ts';
import { DEMO_SCAN } from '../demo.ts';

export function OpenControls() {
  const fileInput = useRef<HTMLInputElement>(null);
  const dirInput = useRef<HTMLInputElement>(null);
  const pick = (list: FileList | null) => {
    if (!list || list.length === 0) return;
    void loadFiles(Array.from(list).map((file) => ({ file, path: file.webkitRelativePath })));
  };
  return (
    <div className="open-controls">
      <button onClick={() => fileInput.current?.click()}>Open scan…</button>
      <button onClick={() => dirInput.current?.click()}>Open DICOM folder…</button>
      <button onClick={() => void loadUrl(DEMO_SCAN.url, DEMO_SCAN.name)}>Demo scan</button>
      <input ref={fileInput} type="file" multiple hidden data-testid="file-input" accept=".nii,.gz,.dcm,application/dicom,*"
        onChange={(e) => { pick(e.target.files); e.target.value = ''; }} />
      <input ref={dirInput} type="file" hidden data-testid="dir-input"
        {...{ webkitdirectory: '', directory: '' }}
        onChange={(e) => { pick(e.target.files); e.target.value = ''; }} />
    </div>
  );
}
