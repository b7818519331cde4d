// What `grad` and `train` (CLI and views) pass to the training compiler: a model plus the choices a user
// makes — which parameters train (a scheme file or preset, compiled by sparse/applyScheme), the loss, the optimizer.

import * as fs from 'node:fs';
import type { LoadedModel } from '../loadModel';
import { ModelError } from '../onnx/errors';
import { parseSchemeText, SchemeError, type Scheme } from '../sparse/scheme';
import { applyScheme } from '../sparse/applyScheme';
import { buildTrainingGraph, type TrainingGraph } from './trainingGraph';
import { presetScheme } from '../sparse/presets';
import type { TrainingOptions } from './trainingGraph';
import type { LossKind } from './loss';
import type { OptimizerSpec } from './optimizer';

export function loadScheme(spec: string, loaded: LoadedModel): Scheme {
  const preset = presetScheme(spec, loaded.model.graph, loaded.layers);
  if (preset) return preset;
  if (!fs.existsSync(spec) || !fs.statSync(spec).isFile()) throw new ModelError(`scheme "${spec}" is neither a preset (full, bias-only, last-N, classifier-only) nor a file`);
  try {
    return parseSchemeText(fs.readFileSync(spec, 'utf8'));
  } catch (e) {
    if (e instanceof SchemeError) throw new ModelError(`scheme file "${spec}": ${e.message}; fix the file or pass a preset`);
    throw e;
  }
}

/**
 * The training step `grad` and `train` run: with a scheme, the pruned sparse step of applyScheme (frozen
 * parameters get no gradient, `channels: r` weights a gradient of their first channels only); without
 * one, every parameter with BatchNorm as exported.
 */
export function compileTrainingStep(loaded: LoadedModel, o: { scheme?: string; loss?: LossKind; optimizer?: OptimizerSpec }): TrainingGraph {
  const loss = { kind: o.loss ?? 'cross_entropy' } as const;
  if (o.scheme) return applyScheme(loaded, loadScheme(o.scheme, loaded), { loss, optimizer: o.optimizer }).tg;
  return buildTrainingGraph(loaded.model, trainingOptions(loaded, o));
}

/** Options of the dense step (every parameter trains, BatchNorm as exported); schemes go through applyScheme. */
export function trainingOptions(loaded: LoadedModel, o: { loss?: LossKind; optimizer?: OptimizerSpec }): TrainingOptions {
  return {
    loss: { kind: o.loss ?? 'cross_entropy' },
    optimizer: o.optimizer,
    paramLayer: (p) => loaded.layers.paramLayer.get(p) ?? '',
    batchNorm: 'model',
  };
}
