/**
 * Site adaptation of a model's head (issue 22), the one entry point the CLI and the page share:
 * given each local scan's cached backbone features and its label, fine-tune the head's dense and
 * quantum parameters, pick how long by cross-validation on those scans, refit the threshold and the
 * Platt calibration on the cross-validated predictions, and report AUC and accuracy before and after.
 *
 * "Before" is the shipped head on every scan at its shipped threshold (it never saw them). "After" is
 * each scan predicted by the head fine-tuned without its fold, at the epoch count with the lowest
 * held-out loss; that count and the refit threshold are chosen on the same predictions, so "after"
 * leans optimistic by one chosen number each, which matters most for a handful of scans.
 */
import type { Calibration } from '../guard/calibration.ts';
import type { HeadSpec } from '../head/spec.ts';
import type { QuantumKernel } from '../quantum/index.ts';
import { forwardBatch, headNet, meanCrossEntropy, probabilities } from './backprop.ts';
import { train, type TrainOptions } from './fit.ts';
import { assignFolds } from './folds.ts';
import { summarize, youdenThreshold, type ScoreSummary } from './metrics.ts';
import { flattenParams, withParams } from './params.ts';
import { plattCalibration } from './platt.ts';
import { trainingSet, type LabelledScan } from './samples.ts';

export interface AdaptOptions extends TrainOptions {
  seed: number;
  /** k for k-fold once there are too many scans for leave-one-out (folds.ts). */
  folds: number;
  /** Adapt even with fewer than MIN_PER_CLASS scans in a class. */
  force: boolean;
}

/** epochs is the most tried; cross-validation picks how many of them to keep (0: the shipped head). */
export const ADAPT_DEFAULTS: AdaptOptions = { seed: 0, epochs: 150, lr: 0.01, l2: 1e-3, folds: 5, force: false };

export interface AdaptProgress {
  stage: 'cross-validation' | 'final';
  /** 1-based fold (the final fit on every scan: folds + 1 of folds + 1). */
  fold: number;
  folds: number;
  epoch: number;
  epochs: number;
}

export interface AdaptModel {
  head: HeadSpec;
  classes: readonly [string, string];
  /** The shipped threshold on P(positive). */
  threshold: number;
}

export interface AdaptResult {
  head: HeadSpec;
  threshold: number;
  /** null when Platt scaling could not be fitted; `calibrationProblem` says why. */
  calibration: Calibration | null;
  calibrationProblem?: string;
  /** Fine-tuning steps kept (0: adaptation did not lower the held-out loss, the head is the shipped one). */
  epochs: number;
  folds: string;
  perClass: Record<string, number>;
  /** Mean cross-validated cross-entropy of the shipped head and of the adapted one. */
  heldOutLoss: { before: number; after: number };
  before: ScoreSummary;
  after: ScoreSummary;
  /** Per scan, in input order: the shipped head's P(positive) and the cross-validated adapted one. */
  predictions: { names: string[]; labels: number[]; before: number[]; after: number[] };
  options: AdaptOptions;
}

const rows = (x: Float64Array, width: number, idx: number[]): Float64Array => {
  const out = new Float64Array(idx.length * width);
  idx.forEach((i, r) => out.set(x.subarray(i * width, (i + 1) * width), r * width));
  return out;
};

export function adaptHead(
  model: AdaptModel,
  scans: readonly LabelledScan[],
  kernel: QuantumKernel | null,
  options: Partial<AdaptOptions> = {},
  hooks: { onProgress?: (p: AdaptProgress) => void; signal?: AbortSignal } = {},
): AdaptResult {
  const opts: AdaptOptions = { ...ADAPT_DEFAULTS, ...options };
  const net = headNet(model.head, kernel);
  const data = trainingSet(scans, model.classes, net.featureWidth, { force: opts.force });
  const n = data.y.length;
  const theta0 = flattenParams(model.head);
  const folds = assignFolds(data.y, opts.seed, opts.folds);

  // Every fold trains for the full epoch budget from θ₀; held-out predictions are kept at every epoch.
  const cv = Array.from({ length: opts.epochs + 1 }, () => new Float64Array(n));
  const heldOut = new Float64Array(opts.epochs + 1);
  for (let f = 0; f < folds.k; f++) {
    const test = [...data.y.keys()].filter((i) => folds.fold[i] === f);
    const fit = [...data.y.keys()].filter((i) => folds.fold[i] !== f);
    const xTest = rows(data.x, net.featureWidth, test);
    const yTest = test.map((i) => data.y[i]);
    train(
      net,
      theta0,
      rows(data.x, net.featureWidth, fit),
      Uint8Array.from(fit, (i) => data.y[i]),
      opts,
      (epoch, theta) => {
        hooks.signal?.throwIfAborted();
        const trace = forwardBatch(net, theta, xTest);
        probabilities(trace).forEach((p, r) => {
          cv[epoch][test[r]] = p;
        });
        heldOut[epoch] += meanCrossEntropy(trace, yTest) * test.length;
        hooks.onProgress?.({ stage: 'cross-validation', fold: f + 1, folds: folds.k + 1, epoch, epochs: opts.epochs });
      },
    );
  }
  // The first epoch count with the lowest held-out loss; 0 keeps the shipped head.
  const best = heldOut.reduce((b, v, e) => (v < heldOut[b] ? e : b), 0);

  const theta = train(net, theta0, data.x, data.y, { ...opts, epochs: best }, (epoch) => {
    hooks.signal?.throwIfAborted();
    hooks.onProgress?.({ stage: 'final', fold: folds.k + 1, folds: folds.k + 1, epoch, epochs: best });
  });

  const before = cv[0];
  const after = cv[best];
  const threshold = youdenThreshold(data.y, after);
  let calibration: Calibration | null = null;
  let calibrationProblem: string | undefined;
  try {
    calibration = plattCalibration(after, data.y, `cross-validated predictions on ${n} local scans (${folds.scheme})`);
  } catch (err) {
    calibrationProblem = (err as Error).message;
  }
  return {
    head: withParams(model.head, theta),
    threshold,
    calibration,
    ...(calibrationProblem ? { calibrationProblem } : {}),
    epochs: best,
    folds: folds.scheme,
    perClass: data.perClass,
    heldOutLoss: { before: heldOut[0] / n, after: heldOut[best] / n },
    before: summarize(data.y, before, model.threshold, opts.seed),
    after: summarize(data.y, after, threshold, opts.seed),
    predictions: {
      names: data.names,
      labels: Array.from(data.y),
      before: Array.from(before),
      after: Array.from(after),
    },
    options: opts,
  };
}

/**
 * Why a site may be better served by the source model, or null: no fine-tuning step lowered the
 * held-out loss (the head is the shipped one, only threshold and calibration refitted), or the
 * cross-validated AUC fell. An AUC already at its best while accuracy rises is a gain.
 */
export function noGain(r: Pick<AdaptResult, 'epochs' | 'before' | 'after'>): 'no-steps' | 'lower-auc' | null {
  if (r.epochs === 0) return 'no-steps';
  return r.after.auc.value < r.before.auc.value ? 'lower-auc' : null;
}
