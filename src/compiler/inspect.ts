// What `pockengine inspect` reports about a model: a plain, JSON-ready summary built from the loaded
// model (graph, shapes, layer tree). The JSON form is stable API (docs/cli.md): add fields, never rename
// or remove them without raising INSPECT_SCHEMA_VERSION.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Initializer, Model } from './ir/graph';
import type { Dim } from './ir/shape';
import type { Layer, LayerTree } from './ir/layers';
import type { LoadedModel } from './loadModel';
import { isKnownOp } from './ir/inferShapes';
import { initializerBytes } from './onnx/tensorData';
import { sizeOf } from './ir/tensor';

export const INSPECT_SCHEMA_VERSION = 1;

export interface TensorGroupSummary {
  /** Number of tensors. */
  tensors: number;
  /** Number of elements over all tensors. */
  count: number;
  /** Bytes their data takes (from dtype and shape; external data is not read). */
  bytes: number;
}

export interface IoSummary {
  name: string;
  dtype: string | null;
  /** Dimensions: numbers, or strings for symbolic ones; null when even the rank is unknown. */
  shape: Dim[] | null;
}

export interface LayerSummary {
  /** Dotted module path ("layers.0.attention"); '' for the root. */
  id: string;
  name: string;
  /** Nodes directly in this layer. */
  nodes: number;
  /** Nodes in this layer and below. */
  totalNodes: number;
  /** Parameter elements in this layer and below. */
  parameters: number;
  parameterBytes: number;
  /** Names of the parameters and buffers directly in this layer. */
  params: string[];
  buffers: string[];
  children: LayerSummary[];
}

export interface InspectReport {
  schemaVersion: typeof INSPECT_SCHEMA_VERSION;
  file: string;
  fileBytes: number | null;
  irVersion: number;
  producer: { name: string; version: string };
  /** Operator-set versions by domain; the default domain is spelled "ai.onnx". */
  opsets: Record<string, number>;
  docString: string;
  metadata: Record<string, string>;
  graph: {
    name: string;
    nodes: number;
    /** Values named in the graph, how many have a known type, and how many a fully static shape. */
    values: number;
    typedValues: number;
    staticValues: number;
  };
  inputs: IoSummary[];
  outputs: IoSummary[];
  /** Node count per operator type ("domain::Op" for a non-default domain), sorted by name. */
  opCounts: Record<string, number>;
  /** Trainable tensors: floating-point initializers the layer tree counts as parameters. */
  parameters: TensorGroupSummary & { byDtype: Record<string, number> };
  /** State that is not trained (BatchNormalization running statistics). */
  buffers: TensorGroupSummary;
  /** Other initializers and the tensors of Constant nodes. */
  constants: TensorGroupSummary;
  externalData: {
    tensors: number;
    bytes: number;
    /** Distinct external-data files, relative to the model's folder, with whether each exists. */
    files: { location: string; exists: boolean }[];
  };
  unknownOps: { opType: string; domain: string; count: number; nodes: string[] }[];
  warnings: string[];
  layers: LayerSummary;
}

const UNKNOWN_NODE_SAMPLES = 5;

export function inspectModel(loaded: LoadedModel): InspectReport {
  const { model, layers } = loaded;
  const g = model.graph;
  let fileBytes: number | null = null;
  if (model.path) {
    try {
      fileBytes = fs.statSync(model.path).size;
    } catch {
      fileBytes = null;
    }
  }

  const opCounts: Record<string, number> = {};
  const unknown = new Map<string, { opType: string; domain: string; count: number; nodes: string[] }>();
  const constants: TensorGroupSummary = { tensors: 0, count: 0, bytes: 0 };
  const addTo = (grp: TensorGroupSummary, init: Initializer): void => {
    grp.tensors++;
    grp.count += sizeOf(init.dims);
    grp.bytes += initializerBytes(init);
  };
  for (const n of g.nodes) {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}::${n.opType}` : n.opType;
    opCounts[key] = (opCounts[key] ?? 0) + 1;
    if (!isKnownOp(n.opType, n.domain)) {
      const u = unknown.get(key) ?? { opType: n.opType, domain: n.domain, count: 0, nodes: [] };
      u.count++;
      if (u.nodes.length < UNKNOWN_NODE_SAMPLES) u.nodes.push(n.id);
      unknown.set(key, u);
    }
    if (n.opType === 'Constant' && n.domain === '') {
      const v = n.attrs.value;
      if (v && v.type === 'tensor') addTo(constants, v.value);
    }
  }

  const parameters = { tensors: 0, count: 0, bytes: 0, byDtype: {} as Record<string, number> };
  const buffers: TensorGroupSummary = { tensors: 0, count: 0, bytes: 0 };
  const isParam = new Set<string>();
  const isBuffer = new Set<string>();
  for (const l of layers.layers.values()) {
    for (const p of l.params) isParam.add(p);
    for (const p of l.buffers) isBuffer.add(p);
  }
  const external = { tensors: 0, bytes: 0, files: new Map<string, boolean>() };
  for (const [name, init] of g.initializers) {
    if (isParam.has(name)) {
      addTo(parameters, init);
      parameters.byDtype[init.dtype] = (parameters.byDtype[init.dtype] ?? 0) + sizeOf(init.dims);
    } else if (isBuffer.has(name)) addTo(buffers, init);
    else addTo(constants, init);
    if (init.source.kind === 'external') {
      external.tensors++;
      external.bytes += init.source.length ?? initializerBytes(init);
      if (!external.files.has(init.source.location)) external.files.set(init.source.location, fs.existsSync(init.source.file));
    }
  }

  let typedValues = 0;
  let staticValues = 0;
  for (const v of g.values.values()) {
    if (!v.type) continue;
    typedValues++;
    if (v.type.shape && v.type.shape.every((d) => typeof d === 'number')) staticValues++;
  }
  const io = (name: string): IoSummary => {
    const t = g.values.get(name)?.type ?? null;
    return { name, dtype: t?.dtype ?? null, shape: t?.shape ? t.shape.slice() : null };
  };
  const opsets: Record<string, number> = {};
  for (const [d, v] of Object.entries(model.opsets)) opsets[d === '' ? 'ai.onnx' : d] = v;

  return {
    schemaVersion: INSPECT_SCHEMA_VERSION,
    file: model.path,
    fileBytes,
    irVersion: model.irVersion,
    producer: { name: model.producerName, version: model.producerVersion },
    opsets,
    docString: model.docString,
    metadata: { ...model.metadata },
    graph: { name: g.name, nodes: g.nodes.length, values: g.values.size, typedValues, staticValues },
    inputs: g.inputs.map(io),
    outputs: g.outputs.map(io),
    opCounts: Object.fromEntries(Object.entries(opCounts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    parameters,
    buffers,
    constants,
    externalData: { tensors: external.tensors, bytes: external.bytes, files: [...external.files].map(([location, exists]) => ({ location, exists })) },
    unknownOps: [...unknown.values()].sort((a, b) => b.count - a.count || (a.opType < b.opType ? -1 : 1)),
    warnings: model.warnings.slice(),
    layers: summarizeLayers(model, layers),
  };
}

function summarizeLayers(model: Model, tree: LayerTree): LayerSummary {
  const inits = model.graph.initializers;
  const walk = (l: Layer): LayerSummary => {
    const children = l.children.map((c) => walk(tree.layers.get(c)!));
    let parameters = 0;
    let parameterBytes = 0;
    for (const p of l.params) {
      const init = inits.get(p)!;
      parameters += sizeOf(init.dims);
      parameterBytes += initializerBytes(init);
    }
    let totalNodes = l.nodes.length;
    for (const c of children) {
      totalNodes += c.totalNodes;
      parameters += c.parameters;
      parameterBytes += c.parameterBytes;
    }
    return { id: l.id, name: l.name, nodes: l.nodes.length, totalNodes, parameters, parameterBytes, params: l.params.slice(), buffers: l.buffers.slice(), children };
  };
  return walk(tree.layers.get('')!);
}

// ---- human-readable form ----

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

const grouped = (n: number): string => n.toLocaleString('en-US');
const shapeText = (s: Dim[] | null): string => (s === null ? '?' : `[${s.join(', ')}]`);

/** Rows as aligned columns; columns listed in `right` are right-aligned (numbers). */
function table(rows: string[][], indent = '  ', right: number[] = []): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const cell = (c: string, i: number, last: boolean): string => (right.includes(i) ? c.padStart(widths[i]) : last ? c : c.padEnd(widths[i]));
  return rows.map((r) => indent + r.map((c, i) => cell(c, i, i === r.length - 1)).join('  ').trimEnd());
}

/** The report as aligned text; `maxDepth` limits how deep the layer tree is printed. */
export function formatInspect(r: InspectReport, maxDepth = 2): string {
  const out: string[] = [];
  const group = (x: TensorGroupSummary): string => `${grouped(x.count)} (${formatBytes(x.bytes)}) in ${x.tensors} tensor${x.tensors === 1 ? '' : 's'}`;
  const head: string[][] = [
    ['model', `${r.file || '(in memory)'}${r.fileBytes !== null ? ` (${formatBytes(r.fileBytes)})` : ''}`],
    ['producer', `${r.producer.name || '?'} ${r.producer.version}`.trim()],
    ['format', `IR v${r.irVersion}, opsets ${Object.entries(r.opsets).map(([d, v]) => `${d} ${v}`).join(', ')}`],
    ['graph', `${r.graph.name || '(unnamed)'}: ${grouped(r.graph.nodes)} nodes, ${Object.keys(r.opCounts).length} op types, ${r.graph.typedValues}/${r.graph.values} values typed`],
    ['parameters', group(r.parameters)],
    ['buffers', group(r.buffers)],
    ['constants', group(r.constants)],
  ];
  if (r.externalData.tensors) {
    const files = r.externalData.files.map((f) => `${f.location}${f.exists ? '' : ' (missing)'}`).join(', ');
    head.push(['external', `${formatBytes(r.externalData.bytes)} in ${r.externalData.tensors} tensors, ${files}`]);
  }
  out.push(...table(head, ''));

  out.push('', 'inputs');
  out.push(...table(r.inputs.map((i) => [i.name, i.dtype ?? '?', shapeText(i.shape)])));
  out.push('', 'outputs');
  out.push(...table(r.outputs.map((i) => [i.name, i.dtype ?? '?', shapeText(i.shape)])));

  out.push('', 'op counts');
  const ops = Object.entries(r.opCounts).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  out.push(...table(ops.map(([op, n]) => [op, String(n)]), '  ', [1]));

  out.push('', `unknown operators: ${r.unknownOps.length ? '' : 'none'}`);
  const few = (u: InspectReport['unknownOps'][number]): string => u.nodes.slice(0, 3).join(', ') + (u.count > 3 ? ', ...' : '');
  if (r.unknownOps.length) out.push(...table(r.unknownOps.map((u) => [u.domain ? `${u.domain}::${u.opType}` : u.opType, String(u.count), few(u)]), '  ', [1]));

  out.push('', `warnings: ${r.warnings.length ? '' : 'none'}`);
  for (const w of r.warnings.slice(0, 20)) out.push(`  ${w}`);
  if (r.warnings.length > 20) out.push(`  ... and ${r.warnings.length - 20} more (see --json)`);

  out.push('', `layers${Number.isFinite(maxDepth) ? ` (depth ${maxDepth}; --depth N for more)` : ''}`);
  const rows: string[][] = [['layer', 'nodes', 'params', 'bytes']];
  const walk = (l: LayerSummary, depth: number): void => {
    // An indexed child ("3" of "features") reads better by its path: "features.3".
    const label = depth === 0 ? '(model)' : /^\d+$/.test(l.name) ? l.id : l.name;
    rows.push([`${'  '.repeat(depth)}${label}`, String(l.totalNodes), grouped(l.parameters), formatBytes(l.parameterBytes)]);
    if (depth >= maxDepth) return;
    for (const c of l.children) walk(c, depth + 1);
  };
  walk(r.layers, 0);
  out.push(...table(rows, '  ', [1, 2, 3]));
  return out.join('\n') + '\n';
}
