/**
 * The scans a site labels, checked before anything trains: every label one of the model's classes,
 * every feature vector the head's width and finite, both classes present, and at least
 * MIN_PER_CLASS scans per class unless forced.
 */

/** Fewer scans than this in a class and the cross-validated numbers say next to nothing. */
export const MIN_PER_CLASS = 3;

export type AdaptErrorCode = 'bad-label' | 'bad-features' | 'missing-class' | 'too-few';

export class AdaptError extends Error {
  override name = 'AdaptError';
  constructor(
    readonly code: AdaptErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface LabelledScan {
  /** How the scan is named in messages (its file). */
  name: string;
  /** The frozen backbone's pooled features. */
  features: ArrayLike<number>;
  label: string;
}

export interface TrainingSet {
  /** scans × featureWidth, row-major. */
  x: Float64Array;
  /** 1 = classes[1] (the positive class), as the head's logits. */
  y: Uint8Array;
  names: string[];
  perClass: Record<string, number>;
}

/**
 * Scans per class, after checking the labels alone: each one of the model's classes, both classes
 * present, at least MIN_PER_CLASS each unless forced. Callers run it before any backbone work.
 */
export function labelCounts(
  scans: readonly Pick<LabelledScan, 'name' | 'label'>[],
  classes: readonly [string, string],
  opts: { force?: boolean } = {},
): Record<string, number> {
  const perClass: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
  for (const s of scans) {
    if (!classes.includes(s.label))
      throw new AdaptError(
        'bad-label',
        `scan ${s.name}: label "${s.label}" is not one of the model's classes (${classes.join(', ')})`,
      );
    perClass[s.label]++;
  }
  for (const c of classes) {
    if (perClass[c] === 0)
      throw new AdaptError(
        'missing-class',
        `no scans labelled "${c}": adaptation needs scans of both classes (${classes.join(', ')})`,
      );
  }
  const few = classes.filter((c) => perClass[c] < MIN_PER_CLASS);
  if (few.length && !opts.force) {
    const counts = few.map((c) => `${perClass[c]} labelled "${c}"`).join(', ');
    throw new AdaptError(
      'too-few',
      `only ${counts}: adaptation needs at least ${MIN_PER_CLASS} scans of each class for its cross-validated numbers to mean anything`,
    );
  }
  return perClass;
}

export function trainingSet(
  scans: readonly LabelledScan[],
  classes: readonly [string, string],
  featureWidth: number,
  opts: { force?: boolean } = {},
): TrainingSet {
  const perClass = labelCounts(scans, classes, opts);
  const x = new Float64Array(scans.length * featureWidth);
  const y = new Uint8Array(scans.length);
  scans.forEach((s, i) => {
    if (s.features.length !== featureWidth)
      throw new AdaptError(
        'bad-features',
        `scan ${s.name}: ${s.features.length} features, the model's head takes ${featureWidth}`,
      );
    for (let k = 0; k < featureWidth; k++) {
      if (!Number.isFinite(s.features[k]))
        throw new AdaptError('bad-features', `scan ${s.name}: feature ${k} is ${s.features[k]}`);
    }
    x.set(Array.from(s.features), i * featureWidth);
    y[i] = classes.indexOf(s.label);
  });
  return { x, y, names: scans.map((s) => s.name), perClass };
}
