// What the details panel shows for a selected box: an operator's type, attributes, inputs and outputs with
// dtypes, shapes, roles and sizes; a group's parameters and operator counts; the model's summary. All text
// here is model data: the webview sets it as textContent, never as HTML.

import type { AttrValue, Initializer, Model } from '../ir/graph';
import { dtypeBits } from '../ir/dtype';
import { numElements, shapeToString, type Shape } from '../ir/shape';
import { loadInitializer } from '../onnx/tensorData';
import { toNumbers } from '../ir/tensor';
import { ancestorsOf, type GraphIndex } from './graphIndex';
import type { GroupDetails, ModelSummary, NodeDetails, SearchMatch, TensorInfo } from './types';

/** Tensors with at most this many elements get their values previewed (shape tensors, scalars, clip bounds). */
const PREVIEW_ELEMENTS = 16;

export function nodeDetails(index: GraphIndex, itemId: string): NodeDetails | null {
  const leaf = index.leaves.get(itemId);
  if (!leaf) return null;
  const graph = index.model.graph;
  if (leaf.kind !== 'op') {
    const t = tensorInfo(index, leaf.ref);
    return {
      id: itemId, kind: leaf.kind, name: leaf.ref, opType: leaf.kind === 'input' ? 'Graph input' : 'Graph output', domain: '', layer: '',
      unknown: false, attributes: [], inputs: leaf.kind === 'output' ? [t] : [], outputs: leaf.kind === 'input' ? [t] : [],
      paramCount: 0, paramBytes: 0, docString: graph.values.get(leaf.ref)?.docString ?? '',
    };
  }
  const node = index.nodes.get(leaf.ref)!;
  const inputs = node.inputs.filter((v) => v !== '').map((v) => tensorInfo(index, v));
  const params = inputs.filter((t) => t.role === 'parameter');
  return {
    id: itemId, kind: 'op', name: node.name || node.id, opType: node.opType, domain: node.domain, layer: node.layer,
    unknown: !!leaf.unknown,
    attributes: Object.entries(node.attrs).map(([name, a]) => ({ name, value: formatAttr(a) })),
    inputs, outputs: node.outputs.filter((v) => v !== '').map((v) => tensorInfo(index, v)),
    paramCount: params.reduce((s, t) => s + (t.bytes === null ? 0 : elementsOf(index, t.name)), 0),
    paramBytes: params.reduce((s, t) => s + (t.bytes ?? 0), 0),
    docString: node.docString ?? '',
  };
}

export function groupDetails(index: GraphIndex, itemId: string): GroupDetails | null {
  const g = index.groups.get(itemId);
  if (!g) return null;
  const ops = new Map<string, number>();
  const unknown = new Set<string>();
  const paramNames = new Set<string>();
  const walk = (id: string): void => {
    const sub = index.groups.get(id);
    if (sub) {
      for (const m of sub.members) walk(m);
      return;
    }
    const leaf = index.leaves.get(id);
    if (leaf?.kind !== 'op') return;
    ops.set(leaf.opType!, (ops.get(leaf.opType!) ?? 0) + 1);
    if (leaf.unknown) unknown.add(leaf.opType!);
    // The parameters the group's operators read: for a layer, its weights (tied ones included where used).
    for (const v of index.nodes.get(leaf.ref)!.inputs) if (isParameter(index, v)) paramNames.add(v);
  };
  walk(itemId);
  const params = [...paramNames].map((p) => paramRow(index, p));
  return {
    id: itemId, layer: g.layer, label: g.label, opCount: g.opCount,
    opCounts: [...ops].map(([opType, count]) => ({ opType, count })).sort((a, b) => b.count - a.count || a.opType.localeCompare(b.opType)),
    params, paramCount: params.reduce((s, p) => s + (p.count ?? 0), 0), paramBytes: params.reduce((s, p) => s + (p.bytes ?? 0), 0),
    unknownOps: [...unknown].sort(),
  };
}

function paramRow(index: GraphIndex, name: string): GroupDetails['params'][number] {
  const init = index.model.graph.initializers.get(name)!;
  const count = numElements(init.dims);
  return { name, dtype: init.dtype, shape: shapeToString(init.dims), count, bytes: bytesOf(init.dtype, init.dims) };
}

/** Ops whose name, op type or layer contains the query (case-insensitive); op-type matches that are exact first. */
export function search(index: GraphIndex, query: string, limit = 200): { matches: SearchMatch[]; total: number } {
  const q = query.trim().toLowerCase();
  if (!q) return { matches: [], total: 0 };
  const exact: SearchMatch[] = [];
  const partial: SearchMatch[] = [];
  for (const leaf of index.leaves.values()) {
    const name = leaf.kind === 'op' ? index.nodes.get(leaf.ref)?.name || leaf.ref : leaf.ref;
    const hay = [name, leaf.opType ?? '', leaf.label];
    if (!hay.some((h) => h.toLowerCase().includes(q))) continue;
    const m: SearchMatch = { id: leaf.id, label: name, opType: leaf.opType ?? leaf.kind, layer: leaf.parent ? index.groups.get(leaf.parent)!.layer : '', path: ancestorsOf(index, leaf.id) };
    (leaf.opType?.toLowerCase() === q ? exact : partial).push(m);
  }
  const all = [...exact, ...partial];
  return { matches: all.slice(0, limit), total: all.length };
}

export function modelSummary(model: Model, index: GraphIndex): ModelSummary {
  const g = model.graph;
  let paramCount = 0;
  let paramBytes = 0;
  for (const name of index.layers.paramLayer.keys()) {
    if (!isParameter(index, name)) continue;
    const init = g.initializers.get(name)!;
    paramCount += numElements(init.dims) ?? 0;
    paramBytes += bytesOf(init.dtype, init.dims) ?? 0;
  }
  const unknown = new Set<string>();
  for (const l of index.leaves.values()) if (l.unknown) unknown.add(l.opType!);
  return {
    fileName: model.path ? model.path.split(/[\\/]/).pop()! : '(in memory)',
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    irVersion: model.irVersion,
    opsets: Object.entries(model.opsets).map(([domain, version]) => ({ domain, version })),
    nodeCount: g.nodes.length, paramCount, paramBytes,
    inputs: g.inputs.map((v) => tensorInfo(index, v)), outputs: g.outputs.map((v) => tensorInfo(index, v)),
    unknownOps: [...unknown].sort(), warnings: model.warnings.slice(0, 50),
  };
}

function tensorInfo(index: GraphIndex, name: string): TensorInfo {
  const graph = index.model.graph;
  const init = graph.initializers.get(name);
  if (init) {
    const role = isParameter(index, name) ? 'parameter' : index.layers.paramLayer.has(name) ? 'buffer' : 'initializer';
    return { name, dtype: init.dtype, shape: shapeToString(init.dims), role, bytes: bytesOf(init.dtype, init.dims), ...preview(init) };
  }
  const type = graph.values.get(name)?.type ?? null;
  const constNode = index.constants.get(name);
  const constVal = constNode ? constNode.attrs.value : undefined;
  if (constVal?.type === 'tensor') {
    const t = constVal.value;
    return { name, dtype: t.dtype, shape: shapeToString(t.dims), role: 'constant', bytes: bytesOf(t.dtype, t.dims), ...preview(t) };
  }
  const role: TensorInfo['role'] = graph.inputs.includes(name) ? 'input'
    : index.producer.has(name) ? (constNode ? 'constant' : 'activation') : index.producedElsewhere.has(name) ? 'activation' : 'missing';
  return { name, dtype: type?.dtype ?? '?', shape: shapeToString(type?.shape ?? null), role, bytes: type ? bytesOf(type.dtype, type.shape) : null };
}

/** A trainable parameter: an initializer the layer tree assigns to a layer as a parameter, not a buffer. */
function isParameter(index: GraphIndex, name: string): boolean {
  const layer = index.layers.paramLayer.get(name);
  return layer !== undefined && !!index.layers.layers.get(layer)?.params.includes(name);
}

function elementsOf(index: GraphIndex, name: string): number {
  const init = index.model.graph.initializers.get(name);
  return init ? numElements(init.dims) ?? 0 : 0;
}

function bytesOf(dtype: string, shape: Shape): number | null {
  const n = numElements(shape);
  const bits = dtypeBits(dtype as Parameters<typeof dtypeBits>[0]);
  return n === null || !bits ? null : Math.ceil((n * bits) / 8);
}

function preview(init: Initializer): { preview?: string } {
  if (init.source.kind !== 'inline' || (numElements(init.dims) ?? Infinity) > PREVIEW_ELEMENTS) return {};
  try {
    const t = loadInitializer(init);
    const vals = t.dtype === 'string' ? (t.data as string[]).map((s) => JSON.stringify(s)) : toNumbers(t).map(fmtNum);
    return { preview: init.dims.length === 0 ? vals[0] ?? '' : `[${vals.join(', ')}]` };
  } catch {
    return {}; // a broken constant still shows its type and shape
  }
}

function fmtNum(x: number): string {
  return Number.isInteger(x) ? String(x) : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6 ? String(+x.toPrecision(6)) : x.toExponential(3);
}

/** Attribute value as text; long lists are cut so a 10k-element attribute does not flood the panel. */
export function formatAttr(a: AttrValue): string {
  const list = (xs: (number | string)[]): string => (xs.length > 32 ? `[${xs.slice(0, 32).join(', ')}, … ${xs.length} items]` : `[${xs.join(', ')}]`);
  switch (a.type) {
    case 'float': return fmtNum(a.value);
    case 'int': return String(a.value);
    case 'string': return a.value.length > 200 ? JSON.stringify(a.value.slice(0, 200)) + '…' : JSON.stringify(a.value);
    case 'floats': return list(a.value.map(fmtNum));
    case 'ints': return list(a.value);
    case 'strings': return list(a.value.map((s) => JSON.stringify(s)));
    case 'tensor': return `tensor ${a.value.dtype}${shapeToString(a.value.dims)}${preview(a.value).preview !== undefined ? ' = ' + preview(a.value).preview : ''}`;
    case 'tensors': return `${a.value.length} tensors`;
    case 'graph': return `graph "${a.value.name}" (${a.value.nodes.length} nodes)`;
    case 'graphs': return `${a.value.length} graphs`;
    case 'ref': return `→ ${a.value}`;
    case 'other': return a.value;
  }
}
