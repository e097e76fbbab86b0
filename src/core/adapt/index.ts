/**
 * Site adaptation (issue 22): fine-tune a bundle's head on a site's labelled scans from their cached
 * backbone features, and write the adapted bundle. The CLI (`qumri adapt`) and the page share it.
 */
export {
  adaptHead,
  ADAPT_DEFAULTS,
  noGain,
  type AdaptModel,
  type AdaptOptions,
  type AdaptProgress,
  type AdaptResult,
} from './adapt.ts';
export { adaptationCaveats } from './caveats.ts';
export { adaptedBundle, type AdaptedBundle, type AdaptSource } from './bundle.ts';
export { AdaptError, labelCounts, MIN_PER_CLASS, type AdaptErrorCode, type LabelledScan } from './samples.ts';
export type { Interval, ScoreSummary } from './metrics.ts';
