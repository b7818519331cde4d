// ONNX file -> IR. protobufjs decodes the wire format; this module maps the messages onto the IR, checks
// what a hostile file could abuse (dims, external-data paths) and records what it could not understand
// as warnings instead of failing, so that a model with one odd node still opens.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelProto, TensorProto } from './schema';
import { ModelError } from './errors';
import { resolveExternalLocation } from './externalData';
import { dtypeFromOnnx, type DType } from '../ir/dtype';
import type { AttrValue, Graph, Initializer, Model, Node, RawTensorData, Value, ValueType } from '../ir/graph';
import type { Dim } from '../ir/shape';

// protobufjs gives int64 fields as Long objects (or numbers); the IR uses plain numbers.
type LongLike = number | { toNumber(): number } | null | undefined;
const num = (v: LongLike): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());
const utf8 = new TextDecoder('utf-8', { fatal: false });

/* eslint-disable @typescript-eslint/no-explicit-any */
type Msg = any;

/** Maximum nesting of subgraphs (If/Loop bodies) we follow; deeper is refused rather than risk the stack. */
const MAX_GRAPH_DEPTH = 64;

export interface ImportOptions {
  /** Folder that external-data locations are relative to (defaults to the model file's folder). */
  baseDir?: string;
}

export function importModelFile(file: string, opts: ImportOptions = {}): Model {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new ModelError(`cannot read "${file}": ${(e as NodeJS.ErrnoException).code ?? e}`, file);
  }
  return importModelBytes(bytes, { path: path.resolve(file), baseDir: opts.baseDir ?? path.dirname(path.resolve(file)) });
}

export function importModelBytes(bytes: Uint8Array, opts: { path?: string; baseDir?: string } = {}): Model {
  const file = opts.path ?? '';
  const label = file ? `"${path.basename(file)}"` : 'the model';
  let m: Msg;
  try {
    m = ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelError(`${label} is not a valid ONNX model (protobuf decoding failed: ${(e as Error).message}). Re-export it, or check that the file is complete.`, file);
  }
  if (!m.graph) throw new ModelError(`${label} holds no graph: it is not an ONNX model, or it is truncated.`, file);
  const warnings: string[] = [];
  const opsets: Record<string, number> = {};
  for (const o of m.opsetImport ?? []) opsets[o.domain ?? ''] = num(o.version);
  if (Object.keys(opsets).length === 0) opsets[''] = 1;
  const metadata: Record<string, string> = {};
  for (const e of m.metadataProps ?? []) metadata[e.key] = e.value;
  const ctx: Ctx = { baseDir: opts.baseDir ?? (file ? path.dirname(file) : process.cwd()), warnings, label };
  let graph: Graph;
  try {
    graph = convertGraph(m.graph, ctx, 0);
  } catch (e) {
    if (e instanceof ModelError) throw e;
    throw new ModelError(`${label} has a malformed graph: ${(e as Error).message}`, file);
  }
  return {
    path: file,
    irVersion: num(m.irVersion),
    opsets,
    producerName: m.producerName ?? '',
    producerVersion: m.producerVersion ?? '',
    modelVersion: num(m.modelVersion),
    docString: m.docString ?? '',
    metadata,
    graph,
    warnings,
  };
}

interface Ctx {
  baseDir: string;
  warnings: string[];
  label: string;
}

function convertGraph(g: Msg, ctx: Ctx, depth: number): Graph {
  if (depth > MAX_GRAPH_DEPTH) throw new ModelError(`${ctx.label} nests subgraphs more than ${MAX_GRAPH_DEPTH} deep`);
  const values = new Map<string, Value>();
  const initializers = new Map<string, Initializer>();
  const define = (name: string, type: ValueType | null, docString?: string): void => {
    if (!name) return;
    const v = values.get(name);
    if (!v) values.set(name, { name, type, ...(docString ? { docString } : {}) });
    else if (!v.type && type) v.type = type;
  };

  for (const t of g.initializer ?? []) {
    const init = convertTensor(t, ctx);
    if (initializers.has(init.name)) ctx.warnings.push(`initializer "${init.name}" is defined twice; the first is used`);
    else initializers.set(init.name, init);
    define(init.name, { dtype: init.dtype, shape: init.dims.slice() });
  }
  if ((g.sparseInitializer ?? []).length) ctx.warnings.push(`${g.sparseInitializer.length} sparse initializer(s) are not supported and were ignored`);

  const inputs: string[] = [];
  for (const vi of g.input ?? []) {
    define(vi.name, convertType(vi.type, vi.name, ctx), vi.docString || undefined);
    if (!initializers.has(vi.name)) inputs.push(vi.name);
    else {
      // An input that is also an initializer has a default value; its declared type wins if present.
      const t = convertType(vi.type, vi.name, ctx);
      if (t) values.get(vi.name)!.type = t;
    }
  }
  for (const vi of g.valueInfo ?? []) define(vi.name, convertType(vi.type, vi.name, ctx), vi.docString || undefined);

  const nodes: Node[] = [];
  const usedIds = new Set<string>();
  for (const [i, n] of (g.node ?? []).entries()) {
    const node = convertNode(n, i, usedIds, ctx, depth);
    nodes.push(node);
    for (const o of node.outputs) define(o, null);
  }
  const outputs: string[] = [];
  for (const vi of g.output ?? []) {
    const t = convertType(vi.type, vi.name, ctx);
    define(vi.name, t, vi.docString || undefined);
    outputs.push(vi.name);
  }
  // Inputs that nothing defines: keep them as values of unknown type so the graph stays whole.
  for (const n of nodes) for (const i of n.inputs) if (i && !values.has(i)) {
    ctx.warnings.push(`node "${n.id}" reads "${i}", which no input, initializer or node defines`);
    define(i, null);
  }
  return { name: g.name ?? '', nodes, values, inputs, outputs, initializers, docString: g.docString || undefined };
}

function convertNode(n: Msg, index: number, usedIds: Set<string>, ctx: Ctx, depth: number): Node {
  const opType: string = n.opType ?? '';
  let id: string = n.name || `${opType || 'node'}_${index}`;
  if (usedIds.has(id)) id = `${id}#${index}`;
  usedIds.add(id);
  const attrs: Record<string, AttrValue> = {};
  for (const a of n.attribute ?? []) attrs[a.name ?? ''] = convertAttr(a, ctx, depth);
  return {
    id,
    name: n.name ?? '',
    opType,
    domain: n.domain === 'ai.onnx' ? '' : (n.domain ?? ''),
    inputs: (n.input ?? []).slice(),
    outputs: (n.output ?? []).slice(),
    attrs,
    ...(n.docString ? { docString: n.docString } : {}),
    layer: '',
  };
}

function convertAttr(a: Msg, ctx: Ctx, depth: number): AttrValue {
  if (a.refAttrName) return { type: 'ref', value: a.refAttrName };
  // Old exporters leave `type` unset; infer it from the field present.
  const t: number = a.type || inferAttrType(a);
  switch (t) {
    case 1: return { type: 'float', value: a.f ?? 0 };
    case 2: return { type: 'int', value: num(a.i) };
    case 3: return { type: 'string', value: utf8.decode(a.s ?? new Uint8Array()) };
    case 4: return { type: 'tensor', value: convertTensor(a.t ?? {}, ctx) };
    case 5: return { type: 'graph', value: convertGraph(a.g ?? {}, ctx, depth + 1) };
    case 6: return { type: 'floats', value: (a.floats ?? []).slice() };
    case 7: return { type: 'ints', value: (a.ints ?? []).map(num) };
    case 8: return { type: 'strings', value: (a.strings ?? []).map((s: Uint8Array) => utf8.decode(s)) };
    case 9: return { type: 'tensors', value: (a.tensors ?? []).map((x: Msg) => convertTensor(x, ctx)) };
    case 10: return { type: 'graphs', value: (a.graphs ?? []).map((x: Msg) => convertGraph(x, ctx, depth + 1)) };
    default: return { type: 'other', value: `attribute type ${t}` };
  }
}

function inferAttrType(a: Msg): number {
  if (a.floats?.length) return 6;
  if (a.ints?.length) return 7;
  if (a.strings?.length) return 8;
  if (a.tensors?.length) return 9;
  if (a.graphs?.length) return 10;
  if (a.t) return 4;
  if (a.g) return 5;
  if (a.s?.length) return 3;
  if (a.i != null && num(a.i) !== 0) return 2;
  if (a.f != null && a.f !== 0) return 1;
  return 0;
}

function safeDims(raw: LongLike[] | undefined, what: string): number[] {
  const dims = (raw ?? []).map(num);
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ModelError(`${what} has an invalid dimension ${d}`);
  }
  return dims;
}

function convertTensor(t: Msg, ctx: Ctx): Initializer {
  const name: string = t.name ?? '';
  let dtype: DType;
  try {
    dtype = dtypeFromOnnx(t.dataType ?? 0);
  } catch {
    throw new ModelError(`tensor "${name}" has unknown data type ${t.dataType}`);
  }
  const dims = safeDims(t.dims, `tensor "${name}"`);
  if (t.dataLocation === 1) {
    const kv: Record<string, string> = {};
    for (const e of t.externalData ?? []) kv[e.key] = e.value;
    const location = kv.location ?? '';
    const file = resolveExternalLocation(ctx.baseDir, location, name);
    const offset = kv.offset ? Number(kv.offset) : 0;
    const length = kv.length ? Number(kv.length) : null;
    if (!Number.isSafeInteger(offset) || offset < 0 || (length !== null && (!Number.isSafeInteger(length) || length < 0))) {
      throw new ModelError(`tensor "${name}" has an invalid external-data offset or length`);
    }
    return { name, dtype, dims, source: { kind: 'external', file, location, offset, length }, ...(t.docString ? { docString: t.docString } : {}) };
  }
  const proto: RawTensorData = {};
  if (t.rawData?.length) proto.rawData = t.rawData;
  if (t.floatData?.length) proto.floatData = t.floatData;
  if (t.int32Data?.length) proto.int32Data = t.int32Data;
  if (t.int64Data?.length) proto.int64Data = t.int64Data.map((v: Msg) => (typeof v === 'number' ? v : BigInt(v.toString())));
  if (t.doubleData?.length) proto.doubleData = t.doubleData;
  if (t.uint64Data?.length) proto.uint64Data = t.uint64Data.map((v: Msg) => (typeof v === 'number' ? v : BigInt(v.toString())));
  if (t.stringData?.length) proto.stringData = t.stringData;
  return { name, dtype, dims, source: { kind: 'inline', proto }, ...(t.docString ? { docString: t.docString } : {}) };
}

function convertType(tp: Msg, name: string, ctx: Ctx): ValueType | null {
  if (!tp) return null;
  const tt = tp.tensorType ?? tp.sparseTensorType;
  if (!tt) {
    ctx.warnings.push(`value "${name}" is not a tensor (sequence, map or optional types are shown without a shape)`);
    return null;
  }
  let dtype: DType;
  try {
    dtype = dtypeFromOnnx(tt.elemType ?? 0);
  } catch {
    ctx.warnings.push(`value "${name}" has unknown element type ${tt.elemType}`);
    return null;
  }
  if (!tt.shape) return { dtype, shape: null };
  const shape: Dim[] = (tt.shape.dim ?? []).map((d: Msg, i: number): Dim => {
    if (d.dimParam) return d.dimParam;
    if (d.dimValue != null && d.value === 'dimValue') {
      const v = num(d.dimValue);
      if (Number.isSafeInteger(v) && v >= 0) return v;
    }
    return `${name}_d${i}`;
  });
  return { dtype, shape };
}

/** Decodes a single TensorProto (.pb file of the ONNX test-data format) into an Initializer. */
export function decodeTensorProto(bytes: Uint8Array, baseDir = process.cwd()): Initializer {
  let t: Msg;
  try {
    t = TensorProto.decode(bytes);
  } catch (e) {
    throw new ModelError(`not a valid TensorProto file (${(e as Error).message})`);
  }
  return convertTensor(t, { baseDir, warnings: [], label: 'tensor file' });
}
