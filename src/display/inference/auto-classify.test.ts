import { describe, expect, it } from 'vitest';
import { create } from 'zustand';
import { createScanSlice } from '../store/scan-slice.ts';
import { createViewSlice } from '../store/view-slice.ts';
import { createPreprocessSlice } from '../preprocess/preprocess-slice.ts';
import { createAdaptSlice } from '../adapt/adapt-slice.ts';
import { createInferenceSlice, type ModelRun } from './inference-slice.ts';
import { hasCurrentResult, shouldClassify } from './auto-classify.ts';
import type { AppState } from '../store/index.ts';
import type { LoadedScan } from '../../core/load/nifti.ts';

function scan(sequence: 'FLAIR' | 'T2w' | 'unknown'): LoadedScan {
  return {
    volume: {
      dims: [2, 2, 2],
      spacing: [1, 1, 1],
      affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
      datatype: 'float32',
      data: new Float32Array(8),
    },
    info: {
      fileName: 'scan.nii',
      format: 'NIfTI-1',
      fileDims: [2, 2, 2],
      tookFirstVolume: false,
      orientation: 'RAS',
      affineSource: 'sform',
      datatype: 'float32',
      intensityRange: [0, 0],
      description: '',
      sequence: { sequence, source: 'none', evidence: '' },
    },
  };
}

const run = (modelId: string, scanVersion: number) => ({ modelId, scanVersion }) as ModelRun;

/** A store like the page's, and every change it goes through as [state, previous state]. */
function store() {
  const s = create<AppState>()((...a) => ({
    ...createScanSlice(...a),
    ...createViewSlice(...a),
    ...createInferenceSlice(...a),
    ...createPreprocessSlice(...a),
    ...createAdaptSlice(...a),
  }));
  const changes: [AppState, AppState][] = [];
  s.subscribe((now, prev) => changes.push([now, prev]));
  const triggered = (change: () => void) => {
    changes.length = 0;
    change();
    return changes.some(([now, prev]) => shouldClassify(now, prev));
  };
  return { s, triggered };
}

describe('shouldClassify', () => {
  it('choosing the sequence of a scan of unknown sequence classifies it', () => {
    const { s, triggered } = store();
    s.getState().setModelId('flair-model');
    expect(triggered(() => s.getState().setScan(scan('unknown'), false))).toBe(true);
    expect(triggered(() => s.getState().setSequenceOverride('FLAIR'))).toBe(true);
  });

  it('confirming a mismatch classifies; a new scan, model or comparison model classifies', () => {
    const { s, triggered } = store();
    s.getState().setScan(scan('T2w'), false);
    expect(triggered(() => s.getState().confirmMismatch(true))).toBe(true);
    expect(triggered(() => s.getState().setModelId('m'))).toBe(true);
    expect(triggered(() => s.getState().setCompareId('c'))).toBe(true);
    expect(triggered(() => s.getState().setScan(scan('FLAIR'), false))).toBe(true);
  });

  it('changing the sequence of a scan that already has its result does not classify again', () => {
    const { s, triggered } = store();
    s.getState().setModelId('m');
    s.getState().setScan(scan('FLAIR'), false);
    s.getState().setRuns([run('m', s.getState().scanVersion)]);
    expect(triggered(() => s.getState().setSequenceOverride('T2w'))).toBe(false);
    expect(triggered(() => s.getState().setOverlay({ opacity: 0.2 }))).toBe(false);
  });

  it('nothing classifies without a scan', () => {
    const { s, triggered } = store();
    expect(triggered(() => s.getState().setModelId('m'))).toBe(false);
  });
});

describe('hasCurrentResult', () => {
  it('needs a run of the chosen model on the current scan', () => {
    const runs = [run('a', 2)];
    expect(hasCurrentResult(runs, 2, 'a')).toBe(true);
    expect(hasCurrentResult(runs, 3, 'a')).toBe(false);
    expect(hasCurrentResult(runs, 2, 'b')).toBe(false);
    expect(hasCurrentResult(runs, 2, null)).toBe(false);
  });
});
