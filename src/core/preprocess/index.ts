/** Public API of the preprocessing pipeline (docs/preprocess-spec.md, README.md in this folder). */
export { preprocess, STEPS, type PreprocessResult, type ProgressEvent, type StepName } from './pipeline.ts';
export { parsePreprocessSpec, DEFAULT_SPEC, type PreprocessSpec } from './spec.ts';
export { reorientToRas } from './reorient.ts';
