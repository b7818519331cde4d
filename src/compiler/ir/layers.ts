// The layer hierarchy: nodes and parameters grouped by the module they came from. Later passes freeze and
// update *layers*, so this is core API. Layer ids are dotted module paths ("features.3.conv.0"), the same
// spelling as PyTorch parameter names, so one glob matches both.
//
// PyTorch's exporter names a node by its scope, one segment per module, each segment spelled as the
// module's qualified name relative to the nearest named ancestor: "/features/features.3/conv/conv.0/Conv"
// is module features.3.conv.0. Parameters are named "features.3.conv.0.weight", except in eval-mode
// exports with constant folding, which rename them "onnx::Conv_523"; those take the consuming node's layer.

import type { Graph } from './graph';

export interface Layer {
  /** Dotted module path; '' for the root. */
  id: string;
  /** Last component of the path, as shown in trees. */
  name: string;
  parent: string | null;
  children: string[];
  /** Ids of nodes directly in this layer (not in a child). */
  nodes: string[];
  /** Initializer names that are this layer's own parameters (float tensors consumed by its nodes). */
  params: string[];
  /** Float initializers that are state, not parameters (BatchNormalization running mean and variance). */
  buffers: string[];
}

export interface LayerTree {
  layers: Map<string, Layer>;
  /** Node id -> layer id. */
  nodeLayer: Map<string, string>;
  /** Parameter or buffer (initializer) name -> layer id. */
  paramLayer: Map<string, string>;
}

/** Module path of a node from its scoped name, or '' when the name carries no scope. */
export function moduleOfNodeName(name: string): string {
  if (!name.startsWith('/')) return '';
  const segs = name.split('/').filter((s) => s.length > 0);
  segs.pop(); // the operator's own name, e.g. "Conv_3"
  const parts: string[] = [];
  let prev = '';
  for (const seg of segs) {
    // "features.3" under "features" means child "3"; a segment not prefixed by its parent is a child name.
    const local = prev && seg.startsWith(prev + '.') ? seg.slice(prev.length + 1) : seg;
    parts.push(local);
    prev = seg;
  }
  return parts.join('.');
}

function parentOf(id: string): string {
  const i = id.lastIndexOf('.');
  return i < 0 ? '' : id.slice(0, i);
}

/**
 * Groups the graph's nodes and parameters into layers and writes each node's `layer`. Parameters are the
 * initializers of a floating-point type; an initializer read by nodes of several layers (tied weights)
 * belongs to the layer its own name points to, else to the common ancestor of its consumers.
 */
export function buildLayerTree(graph: Graph): LayerTree {
  const layers = new Map<string, Layer>();
  const ensure = (id: string): Layer => {
    let l = layers.get(id);
    if (l) return l;
    const parent = id === '' ? null : parentOf(id);
    l = { id, name: id === '' ? '' : id.slice(id.lastIndexOf('.') + 1), parent, children: [], nodes: [], params: [], buffers: [] };
    layers.set(id, l);
    if (parent !== null) ensure(parent).children.push(id);
    return l;
  };
  ensure('');

  const nodeLayer = new Map<string, string>();
  const consumers = new Map<string, string[]>();
  const stateOnly = new Map<string, boolean>();
  for (const n of graph.nodes) {
    const id = moduleOfNodeName(n.name);
    n.layer = id;
    nodeLayer.set(n.id, id);
    ensure(id).nodes.push(n.id);
    for (const [slot, i] of n.inputs.entries()) {
      if (!graph.initializers.has(i)) continue;
      const isState = n.opType === 'BatchNormalization' && slot >= 3;
      stateOnly.set(i, (stateOnly.get(i) ?? true) && isState);
      const c = consumers.get(i);
      if (c) c.push(id);
      else consumers.set(i, [id]);
    }
  }

  const paramLayer = new Map<string, string>();
  for (const [name, init] of graph.initializers) {
    if (!init.dtype.startsWith('float') && init.dtype !== 'bfloat16') continue;
    const users = consumers.get(name);
    if (!users) continue;
    const own = parentOf(name);
    const layer = !name.includes('::') && own && layers.has(own) ? own : commonAncestor(users);
    paramLayer.set(name, layer);
    if (stateOnly.get(name)) ensure(layer).buffers.push(name);
    else ensure(layer).params.push(name);
  }
  return { layers, nodeLayer, paramLayer };
}

function commonAncestor(ids: string[]): string {
  let acc = ids[0];
  for (const id of ids.slice(1)) {
    while (acc !== '' && !(id === acc || id.startsWith(acc + '.'))) acc = parentOf(acc);
  }
  return acc;
}

/** Every node id in the layer and its descendants. */
export function nodesUnder(tree: LayerTree, id: string): string[] {
  const out: string[] = [];
  const walk = (l: Layer): void => {
    out.push(...l.nodes);
    for (const c of l.children) walk(tree.layers.get(c)!);
  };
  const l = tree.layers.get(id);
  if (l) walk(l);
  return out;
}

/** Every parameter in the layer and its descendants. */
export function paramsUnder(tree: LayerTree, id: string): string[] {
  const out: string[] = [];
  const walk = (l: Layer): void => {
    out.push(...l.params);
    for (const c of l.children) walk(tree.layers.get(c)!);
  };
  const l = tree.layers.get(id);
  if (l) walk(l);
  return out;
}
