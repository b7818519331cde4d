// The one entry from a model file to what every consumer (CLI, views, tests) starts from: the imported
// model with shapes inferred and its layer hierarchy.

import { importModelFile } from './onnx/import';
import { inferShapes } from './ir/inferShapes';
import { buildLayerTree, type LayerTree } from './ir/layers';
import type { Model } from './ir/graph';

export interface LoadedModel {
  model: Model;
  layers: LayerTree;
}

export function loadModel(file: string): LoadedModel {
  const model = importModelFile(file);
  inferShapes(model);
  const layers = buildLayerTree(model.graph);
  return { model, layers };
}
