// What `grad` and `train` (CLI and views) pass to the training compiler: a model plus the choices a user
// makes — which parameters train (a scheme file or preset), the loss, the optimizer.

import * as fs from 'node:fs';
import type { LoadedModel } from '../loadModel';
import { ModelError } from '../onnx/errors';
import { parseSchemeText, type Scheme } from '../sparse/scheme';
import { presetScheme } from '../sparse/presets';
import { resolveScheme, trainableParams } from '../sparse/resolve';
import type { TrainingOptions } from './trainingGraph';
import type { LossKind } from './loss';
import type { OptimizerSpec } from './optimizer';

export function loadScheme(spec: string, loaded: LoadedModel): Scheme {
  const preset = presetScheme(spec, loaded.model.graph, loaded.layers);
  if (preset) return preset;
  if (!fs.existsSync(spec)) throw new ModelError(`scheme "${spec}" is neither a preset (full, bias-only, last-N, classifier-only) nor a file`);
  return parseSchemeText(fs.readFileSync(spec, 'utf8'));
}

export function trainingOptions(loaded: LoadedModel, o: { scheme?: string; loss?: LossKind; optimizer?: OptimizerSpec }): TrainingOptions {
  const opts: TrainingOptions = {
    loss: { kind: o.loss ?? 'cross_entropy' },
    optimizer: o.optimizer,
    paramLayer: (p) => loaded.layers.paramLayer.get(p) ?? '',
    batchNorm: 'model',
  };
  if (o.scheme) {
    const scheme = loadScheme(o.scheme, loaded);
    const trainable = new Set(trainableParams(resolveScheme(scheme, loaded.model.graph, loaded.layers)));
    opts.trainable = (p) => trainable.has(p);
    opts.batchNorm = scheme.batchnorm;
  }
  return opts;
}
