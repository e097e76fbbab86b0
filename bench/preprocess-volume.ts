/** The bench input: a 320×320×48 uint16 FLAIR-like head, 0.72×0.72×4 mm, slightly oblique (like ms_patient01_FLAIR). */
import type { Volume } from '../src/core/volume.ts';
import { phantomHead } from '../src/core/preprocess/testing/phantom-head.ts';

export function benchVolume(): Volume {
  return phantomHead({ seed: 7, dims: [320, 320, 48], spacing: [0.72, 0.72, 4], tiltDeg: 3 }).volume;
}
