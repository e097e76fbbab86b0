/** The inference side panels in pipeline order, and the start of the registry load and auto-classification. */
import { useEffect } from 'react';
import { useStore } from '../store/index.ts';
import { startInference } from './controller.ts';
import { ModelPicker } from './ModelPicker.tsx';
import { ResultPanel } from './ResultPanel.tsx';
import { GradCamPanel } from './GradCamPanel.tsx';
import { QuantumPanel } from './QuantumPanel.tsx';
import { ModelCardPanel } from './ModelCard.tsx';
import { SlicePanel } from './SlicePanel.tsx';
import { downloadReport } from './report.ts';
import './inference.css';

function ReportButton() {
  const scan = useStore((s) => s.scan);
  const runs = useStore((s) => s.runs);
  const scanVersion = useStore((s) => s.scanVersion);
  const overlay = useStore((s) => s.overlay);
  const convention = useStore((s) => s.convention);
  const current = runs.filter((r) => r.scanVersion === scanVersion);
  if (!scan || current.length === 0) return null;
  return (
    <button
      type="button"
      data-testid="report-download"
      onClick={() =>
        void downloadReport({ volume: scan.volume, fileName: scan.info.fileName, runs: current, overlay, convention })
      }
    >
      Export report (PNG)
    </button>
  );
}

export function InferencePanels() {
  useEffect(() => startInference(), []);
  return (
    <>
      <ModelPicker />
      <ResultPanel />
      <ReportButton />
      <GradCamPanel />
      <QuantumPanel />
      <SlicePanel />
      <ModelCardPanel />
    </>
  );
}
