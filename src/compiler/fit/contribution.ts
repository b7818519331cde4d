// Contribution analysis: how much updating each unit's option helps, on the user's own batch.
//   measured — the loss reduction after `steps` SGD steps (fixed lr) that update only that option, in the
//              reference runtime, as the Tiny Training Engine and PockEngine papers measure it;
//   gradnorm — the first-order prediction of the first step's decrease, lr * ||g_option||^2, with g from ONE
//              backward pass of the full graph (the squared gradient restricted to the option's
//              parameters and channels). One backward instead of one short training run per option.
// The analysis is async and yields between options so a UI can show progress and cancel it.

import type { LoadedModel } from '../loadModel';
import type { Scheme } from '../sparse/scheme';
import type { Tensor } from '../ir/tensor';
import type { LossSpec } from '../train/loss';
import { applyScheme } from '../sparse/applyScheme';
import { buildTrainingGraph } from '../train/trainingGraph';
import { computeGradients, TrainingSession } from '../train/session';
import { readBatch } from '../train/data';
import { ModelError } from '../onnx/errors';
import { schemeOf, updateUnits, type FitOption, type ParamSlice, type UpdateUnit } from './units';

export type ContributionMethod = 'measured' | 'gradnorm';

export interface AnalysisOptions {
  /** Default: 'measured' up to MEASURED_MAX_PARAMS parameters, 'gradnorm' above. */
  method?: ContributionMethod;
  /** SGD steps per option (measured). Default 3. */
  steps?: number;
  /** SGD learning rate of the measured steps and of the gradnorm prediction. Default 0.01. */
  lr?: number;
  batchnorm?: Scheme['batchnorm'];
  loss?: LossSpec;
  onProgress?: (p: AnalysisProgress) => void;
  signal?: AbortSignal;
}

export interface AnalysisProgress {
  done: number;
  total: number;
  unit?: string;
  option?: FitOption;
}

export interface OptionScore {
  option: FitOption;
  /** Loss reduction (measured) or predicted first-step reduction (gradnorm); higher is better. */
  score: number;
  elements: number;
}

export interface UnitScores {
  unit: string;
  options: OptionScore[];
}

export interface Contributions {
  method: ContributionMethod;
  steps: number;
  lr: number;
  batchnorm: Scheme['batchnorm'];
  loss: LossSpec;
  /** Loss on the batch before any update. */
  baseLoss: number;
  units: UnitScores[];
}

/** Above this many parameters a measured analysis (a short training run per option) is too slow for the reference runtime. */
export const MEASURED_MAX_PARAMS = 50_000;

export function parameterCount(loaded: LoadedModel): number {
  return updateUnits(loaded).reduce((a, u) => a + u.options[u.options.length - 1].elements, 0);
}

export function defaultMethod(loaded: LoadedModel): ContributionMethod {
  return parameterCount(loaded) <= MEASURED_MAX_PARAMS ? 'measured' : 'gradnorm';
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Sum of squares of the first `k` channels along `axis` (all of it without k). */
export function sliceSquaredNorm(g: Tensor, s: Pick<ParamSlice, 'axis' | 'k'>): number {
  const d = g.data as Float32Array;
  if (s.k === undefined || s.axis === undefined) {
    let t = 0;
    for (let i = 0; i < d.length; i++) t += d[i] * d[i];
    return t;
  }
  // Channel index of element i along `axis`: floor(i / inner) % C.
  const C = g.dims[s.axis];
  let inner = 1;
  for (let a = s.axis + 1; a < g.dims.length; a++) inner *= g.dims[a];
  let t = 0;
  for (let i = 0; i < d.length; i++) if (Math.floor(i / inner) % C < s.k) t += d[i] * d[i];
  return t;
}

export async function analyzeContributions(loaded: LoadedModel, dataDir: string, opts: AnalysisOptions = {}): Promise<Contributions> {
  const method = opts.method ?? defaultMethod(loaded);
  const steps = opts.steps ?? 3;
  const lr = opts.lr ?? 0.01;
  const batchnorm = opts.batchnorm ?? 'train';
  const loss: LossSpec = opts.loss ?? { kind: 'cross_entropy' };
  if (!(lr > 0)) throw new ModelError(`the analysis learning rate must be > 0, got ${lr}`);
  if (!(Number.isInteger(steps) && steps >= 1)) throw new ModelError(`the analysis needs at least one step per option, got ${steps}`);
  const units = updateUnits(loaded);
  if (units.length === 0) throw new ModelError(`${loaded.model.path || 'the model'} has no trainable parameters to fit`);
  const total = units.reduce((a, u) => a + u.options.length, 0);
  const progress = (done: number, unit?: UpdateUnit, option?: FitOption): void => opts.onProgress?.({ done, total, unit: unit?.id, option });
  opts.signal?.throwIfAborted();

  if (method === 'gradnorm') {
    const paramLayer = (p: string): string => loaded.layers.paramLayer.get(p) ?? '';
    const tg = buildTrainingGraph(loaded.model, { loss, batchNorm: batchnorm, paramLayer });
    const feeds = readBatch(dataDir, tg);
    progress(0);
    await tick();
    opts.signal?.throwIfAborted();
    const { loss: baseLoss, grads } = computeGradients(tg, feeds);
    let done = 0;
    const scored = units.map((u): UnitScores => ({
      unit: u.id,
      options: u.options.map((o) => {
        let sq = 0;
        for (const s of o.slices) {
          const g = grads.get(s.param);
          if (g) sq += sliceSquaredNorm(g, s);
        }
        progress(++done, u, o.option);
        return { option: o.option, score: lr * sq, elements: o.elements };
      }),
    }));
    return { method, steps: 1, lr, batchnorm, loss, baseLoss, units: scored };
  }
  if (method !== 'measured') throw new ModelError(`unknown contribution method "${method}"; use measured or gradnorm`);

  let feeds: Map<string, Tensor> | null = null;
  let baseLoss = NaN;
  let done = 0;
  progress(0);
  const scored: UnitScores[] = [];
  for (const u of units) {
    const options: OptionScore[] = [];
    for (const o of u.options) {
      await tick();
      opts.signal?.throwIfAborted();
      const scheme = schemeOf([u], new Map([[u.id, o.option]]), batchnorm);
      const { tg } = applyScheme(loaded, scheme, { optimizer: { kind: 'sgd', lr }, loss });
      feeds ??= readBatch(dataDir, tg);
      const session = new TrainingSession(tg);
      const first = session.step(feeds);
      if (Number.isNaN(baseLoss)) baseLoss = first;
      for (let k = 1; k < steps; k++) session.step(feeds);
      const after = session.loss(feeds);
      // A diverging option (NaN/inf) helps nothing.
      options.push({ option: o.option, score: Number.isFinite(after) ? first - after : -Infinity, elements: o.elements });
      progress(++done, u, o.option);
    }
    scored.push({ unit: u.id, options });
  }
  return { method, steps, lr, batchnorm, loss, baseLoss, units: scored };
}

/** Units by their best option's score, best first (what the Layers tree and the chart show). */
export function rankUnits(c: Contributions): { unit: string; best: OptionScore }[] {
  return c.units
    .map((u) => ({ unit: u.unit, best: u.options.reduce((a, b) => (b.score > a.score ? b : a)) }))
    .sort((a, b) => b.best.score - a.best.score);
}
