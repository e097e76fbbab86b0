// e2e/inference.e2e.ts imports sliceInput from this path (e2e/ was out of this move's reach): delete this file once it imports src/core/preprocess/slice2d.ts.
export { sliceInput } from '../../core/preprocess/slice2d.ts';
