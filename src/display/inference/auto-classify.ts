/**
 * When the page classifies by itself: the rule the controller applies to every store change, and
 * whether the current scan already has a result (the Classify button's label). Pure, so that the
 * page flow is unit-tested without a worker.
 */
import { selectSequence, type AppState } from '../store/index.ts';
import type { ModelRun } from './inference-slice.ts';

/** The current scan has a result from the chosen model. */
export function hasCurrentResult(runs: readonly ModelRun[], scanVersion: number, modelId: string | null): boolean {
  return modelId !== null && runs.some((r) => r.scanVersion === scanVersion && r.modelId === modelId);
}

/**
 * A change that should start a classification: a new scan, another model or comparison model, a
 * confirmed sequence mismatch, or a sequence chosen for a scan that has no result yet (choosing
 * FLAIR for a scan of unknown sequence). classifyCurrent still refuses an unconfirmed mismatch.
 */
export function shouldClassify(s: AppState, prev: AppState): boolean {
  if (!s.scan) return false;
  if (s.scanVersion !== prev.scanVersion || s.modelId !== prev.modelId || s.compareId !== prev.compareId) return true;
  if (s.mismatchConfirmed && !prev.mismatchConfirmed) return true;
  return selectSequence(s) !== selectSequence(prev) && !hasCurrentResult(s.runs, s.scanVersion, s.modelId);
}
