// The drawable hierarchy of one graph, built once per model: groups (layers, plus artificial sub-groups
// where a layer has too many members to lay out quickly), the op/input/output items inside them, and the
// item-to-item data edges. Visible graphs for any set of expanded groups are cut from it (visibleGraph.ts).
//
// Model Explorer's lesson: the namespace path is the data model; huge groups are split so that no single
// layout is large. The split size is what the webview lays out in one synchronous ELK call (see
// webview/graph/layout.ts for the measurements behind MAX_GROUP_ITEMS).

import type { Graph, Model, Node } from '../ir/graph';
import type { LayerTree } from '../ir/layers';
import { isKnownOp } from '../ir/inferShapes';
import { shapeToString } from '../ir/shape';

/** Most members a group shows before its members are split into artificial sub-groups. */
export const MAX_GROUP_ITEMS = 50;

export interface GroupInfo {
  /** Item id: `g:<layer>` or `g:<layer>#<k>` for an artificial sub-group. */
  id: string;
  /** The layer this group is (or, for an artificial group, lies in). */
  layer: string;
  label: string;
  artificial: boolean;
  /** Enclosing group's item id; null for a top-level group. */
  parent: string | null;
  /** Member item ids in graph order: groups and ops. */
  members: string[];
  /** Operators inside, all depths. */
  opCount: number;
  unknownCount: number;
}

export interface LeafInfo {
  id: string;
  kind: 'op' | 'input' | 'output';
  label: string;
  sublabel: string;
  parent: string | null;
  /** Node id for ops; value name for graph inputs/outputs. */
  ref: string;
  opType?: string;
  unknown?: boolean;
}

export interface RawEdge {
  source: string;
  target: string;
  value: string;
}

export interface GraphIndex {
  model: Model;
  layers: LayerTree;
  groups: Map<string, GroupInfo>;
  leaves: Map<string, LeafInfo>;
  /** Item ids at the top level, in graph order. */
  top: string[];
  edges: RawEdge[];
  /** Values produced by folded-away Constant nodes -> that node (shown in the consumer's details). */
  constants: Map<string, Node>;
  nodes: Map<string, Node>;
  /** Value name -> producing node. */
  producer: Map<string, Node>;
  /** Values produced by nodes this index does not draw (see IndexOptions.producedElsewhere). */
  producedElsewhere: Set<string>;
  /** "dtype[shape]" by value name, for edge labels. */
  valueLabel: (value: string) => string;
}

export interface IndexOptions {
  /** Fold `Constant` nodes into their consumers instead of drawing them (default true): they are clutter. */
  hideConstants?: boolean;
  maxGroupItems?: number;
  /** Values produced outside the drawn nodes (a training tab's inputs from other phases): activations, not missing. */
  producedElsewhere?: Set<string>;
  /** Whether the compiler knows an operator (default: it has a shape rule); training tabs add their gradient ops. */
  isKnown?: (n: Node) => boolean;
}

export const nodeItemId = (nodeId: string): string => `n:${nodeId}`;
export const groupItemId = (layer: string): string => `g:${layer}`;

export function buildGraphIndex(model: Model, layers: LayerTree, opts: IndexOptions = {}): GraphIndex {
  const graph = model.graph;
  const hideConstants = opts.hideConstants ?? true;
  const maxItems = Math.max(2, opts.maxGroupItems ?? MAX_GROUP_ITEMS);
  const hidden = (n: Node): boolean => hideConstants && n.opType === 'Constant' && (n.domain === '' || n.domain === 'ai.onnx');

  const producer = new Map<string, Node>();
  const constants = new Map<string, Node>();
  const order = new Map<string, number>();
  graph.nodes.forEach((n, i) => {
    order.set(n.id, i);
    for (const o of n.outputs) {
      if (!o) continue;
      producer.set(o, n);
      if (hidden(n)) constants.set(o, n);
    }
  });

  const leaves = new Map<string, LeafInfo>();
  const groups = new Map<string, GroupInfo>();
  // First graph position of anything inside a layer, to interleave child layers and own nodes in order.
  const firstIndex = new Map<string, number>();
  const visitFirst = (layerId: string): number => {
    const known = firstIndex.get(layerId);
    if (known !== undefined) return known;
    const l = layers.layers.get(layerId)!;
    let m = Infinity;
    for (const n of l.nodes) m = Math.min(m, order.get(n) ?? Infinity);
    for (const c of l.children) m = Math.min(m, visitFirst(c));
    firstIndex.set(layerId, m);
    return m;
  };

  const nodeById = new Map(graph.nodes.map((n) => [n.id, n]));
  // Members of a layer as [item id, graph position] before splitting; returns the op and unknown counts.
  const buildLayer = (layerId: string, parent: string | null): { members: string[]; ops: number; unknown: number } => {
    const l = layers.layers.get(layerId)!;
    const entries: [string, number][] = [];
    let ops = 0;
    let unknown = 0;
    const gid = layerId === '' ? null : groupItemId(layerId);
    for (const nid of l.nodes) {
      const n = nodeById.get(nid)!;
      if (hidden(n)) continue;
      const unk = opts.isKnown ? !opts.isKnown(n) : !isKnownOp(n.opType, n.domain);
      const id = nodeItemId(nid);
      leaves.set(id, { id, kind: 'op', label: n.opType, sublabel: shortName(n), parent: gid, ref: nid, opType: n.opType, unknown: unk });
      entries.push([id, order.get(nid)!]);
      ops++;
      if (unk) unknown++;
    }
    for (const c of l.children) {
      const sub = buildLayer(c, gid);
      if (sub.ops === 0) continue; // a layer of only folded constants draws nothing
      const only = sub.members.length === 1 ? leaves.get(sub.members[0]) : undefined;
      if (only) {
        // A layer holding one operator (PyTorch's Conv/BN/ReLU modules) is drawn as that operator: a box
        // that must be opened to reveal one box is a click for nothing. Its layer is shown under its type.
        only.parent = gid;
        only.sublabel = c;
        entries.push([only.id, order.get(only.ref)!]);
        ops += 1;
        unknown += only.unknown ? 1 : 0;
        continue;
      }
      const cid = groupItemId(c);
      groups.set(cid, { id: cid, layer: c, label: layerLabel(c), artificial: false, parent: gid, members: sub.members, opCount: sub.ops, unknownCount: sub.unknown });
      entries.push([cid, visitFirst(c)]);
      ops += sub.ops;
      unknown += sub.unknown;
    }
    entries.sort((a, b) => a[1] - b[1]);
    return { members: entries.map((e) => e[0]), ops, unknown };
  };
  const root = buildLayer('', null);

  const opsIn = (item: string): number => groups.get(item)?.opCount ?? (leaves.get(item)?.kind === 'op' ? 1 : 0);
  const unknownIn = (item: string): number => groups.get(item)?.unknownCount ?? (leaves.get(item)?.unknown ? 1 : 0);
  const setParent = (item: string, parent: string | null): void => {
    const g = groups.get(item);
    if (g) g.parent = parent;
    else leaves.get(item)!.parent = parent;
  };
  // Splits members into consecutive chunks (recursively, for very flat graphs) so no group exceeds maxItems.
  let artificialCount = 0;
  const split = (members: string[], owner: string | null, layer: string): string[] => {
    if (members.length <= maxItems) return members;
    const chunkSize = members.length <= maxItems * maxItems ? Math.ceil(members.length / Math.ceil(members.length / maxItems)) : maxItems;
    const chunks: string[] = [];
    for (let i = 0; i < members.length; i += chunkSize) {
      const part = members.slice(i, i + chunkSize);
      const id = `${owner ?? 'g:'}#${++artificialCount}`;
      const label = `${layer ? layerLabel(layer) + ' ' : ''}[${i + 1}–${i + part.length}]`;
      groups.set(id, {
        id, layer, label, artificial: true, parent: owner, members: part,
        opCount: part.reduce((s, m) => s + opsIn(m), 0), unknownCount: part.reduce((s, m) => s + unknownIn(m), 0),
      });
      for (const m of part) setParent(m, id);
      chunks.push(id);
    }
    return split(chunks, owner, layer);
  };
  for (const g of [...groups.values()]) if (!g.artificial) g.members = split(g.members, g.id, g.layer);

  const top: string[] = [];
  for (const name of graph.inputs) {
    const id = `in:${name}`;
    leaves.set(id, { id, kind: 'input', label: name, sublabel: valueLabelOf(graph, name), parent: null, ref: name });
    top.push(id);
  }
  top.push(...split(root.members, null, ''));
  for (const name of graph.outputs) {
    const id = `out:${name}`;
    leaves.set(id, { id, kind: 'output', label: name, sublabel: valueLabelOf(graph, name), parent: null, ref: name });
    top.push(id);
  }

  const edges: RawEdge[] = [];
  const inputs = new Set(graph.inputs);
  for (const n of graph.nodes) {
    if (hidden(n)) continue;
    const target = nodeItemId(n.id);
    const seen = new Set<string>();
    for (const v of n.inputs) {
      if (!v || seen.has(v)) continue;
      seen.add(v);
      const p = producer.get(v);
      if (p && !hidden(p)) edges.push({ source: nodeItemId(p.id), target, value: v });
      else if (!p && inputs.has(v)) edges.push({ source: `in:${v}`, target, value: v });
    }
  }
  for (const v of graph.outputs) {
    const p = producer.get(v);
    if (p && !hidden(p)) edges.push({ source: nodeItemId(p.id), target: `out:${v}`, value: v });
    else if (inputs.has(v)) edges.push({ source: `in:${v}`, target: `out:${v}`, value: v });
  }

  return {
    model, layers, groups, leaves, top, edges, constants, nodes: nodeById, producer, producedElsewhere: opts.producedElsewhere ?? new Set(),
    valueLabel: (v) => valueLabelOf(graph, v),
  };
}

/** "features.3" for a numbered module (a bare "3" says little), else the last segment ("conv"). */
export function layerLabel(layer: string): string {
  const segs = layer.split('.');
  const last = segs[segs.length - 1];
  return /^\d+$/.test(last) && segs.length > 1 ? `${segs[segs.length - 2]}.${last}` : last;
}

/** The node's own name without its scope, when it says more than the op type. */
function shortName(n: Node): string {
  const s = n.name.slice(n.name.lastIndexOf('/') + 1);
  return s === n.opType ? '' : s;
}

function valueLabelOf(graph: Graph, name: string): string {
  const t = graph.values.get(name)?.type;
  return t ? `${t.dtype}${shapeToString(t.shape)}` : '';
}

/** Item ids of the groups enclosing an item, outermost first. */
export function ancestorsOf(index: GraphIndex, item: string): string[] {
  const out: string[] = [];
  let p = index.groups.get(item)?.parent ?? index.leaves.get(item)?.parent ?? null;
  while (p !== null) {
    out.unshift(p);
    p = index.groups.get(p)!.parent;
  }
  return out;
}
