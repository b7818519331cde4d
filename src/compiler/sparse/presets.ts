// Named schemes: `full`, `bias-only`, `last-N` (the last N blocks fully plus all biases) and
// `classifier-only`. Blocks are the numbered children of the model's repeating container
// ("features.0".."features.18", "layers.0".."layers.31"); a model with none (a plain MLP or small CNN) uses
// its top-level layers that hold parameters. The classifier is what follows the blocks: top-level layers
// after the last block and the layer whose parameters the last parameterised operator reads (tied
// embeddings make that tok_embeddings in LLaMA).

import type { Graph } from '../ir/graph';
import type { LayerTree } from '../ir/layers';
import { paramsUnder } from '../ir/layers';
import { SchemeError, type Scheme } from './scheme';

export const PRESET_NAMES = ['full', 'bias-only', 'last-N', 'classifier-only'] as const;

export interface ModelBlocks {
  blocks: string[];
  classifier: string[];
}

export function findBlocks(graph: Graph, layers: LayerTree): ModelBlocks {
  const numbered = (id: string): string[] => {
    const l = layers.layers.get(id)!;
    return l.children.filter((c) => /^\d+$/.test(layers.layers.get(c)!.name) && paramsUnder(layers, c).length > 0);
  };
  let container: string | null = null;
  let best = 1;
  for (const id of layers.layers.keys()) {
    const n = numbered(id).length;
    if (n > best) { best = n; container = id; }
  }
  const top = layers.layers.get('')!.children.filter((c) => paramsUnder(layers, c).length > 0);
  // The last parameterised operator in graph order reads the classifier's parameters.
  let lastLayer: string | null = null;
  for (const n of graph.nodes) {
    const p = n.inputs.find((i) => layers.paramLayer.has(i) && layers.layers.get(layers.paramLayer.get(i)!)!.params.includes(i));
    if (p) lastLayer = layers.paramLayer.get(p)!;
  }
  const topOf = (id: string): string => (id.includes('.') ? id.slice(0, id.indexOf('.')) : id);
  if (container !== null) {
    const blocks = numbered(container);
    const containerTop = topOf(container);
    const after = top.slice(top.indexOf(containerTop) + 1);
    const covered = (id: string): boolean => [...blocks, ...after].some((b) => id === b || id.startsWith(b + '.'));
    const classifier = [...after, ...(lastLayer && !covered(lastLayer) ? [lastLayer] : [])];
    return { blocks, classifier };
  }
  const classifier = lastLayer ? [topOf(lastLayer)] : top.slice(-1);
  return { blocks: top.filter((t) => !classifier.includes(t)), classifier };
}

/** A preset name as a scheme, or null if `name` is no preset. */
export function presetScheme(name: string, graph: Graph, layers: LayerTree): Scheme | null {
  const bn = 'train' as const;
  if (name === 'full') return { default: 'full', batchnorm: bn, rules: [] };
  if (name === 'bias-only') return { default: 'bias', batchnorm: bn, rules: [] };
  const { blocks, classifier } = findBlocks(graph, layers);
  if (name === 'classifier-only') return { default: 'frozen', batchnorm: bn, rules: classifier.map((c) => ({ match: c, update: 'full' })) };
  const m = /^last-(\d+)$/.exec(name);
  if (m) {
    const n = Number(m[1]);
    if (n < 0) throw new SchemeError(`preset ${name}: N must be >= 0`);
    const last = n === 0 ? [] : blocks.slice(-n);
    return { default: 'bias', batchnorm: bn, rules: [...last, ...classifier].map((c) => ({ match: c, update: 'full' })) };
  }
  return null;
}
