// IR -> ONNX bytes: models (for the generated sample and test models, and later the ONNX training step)
// and single TensorProto files (.pb, the ONNX test-data format the CLI reads and writes).

import { ModelProto, TensorProto } from './schema';
import { dtypeToOnnx } from '../ir/dtype';
import type { AttrValue, Graph, Initializer, Model, ValueType } from '../ir/graph';
import type { Tensor } from '../ir/tensor';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Msg = any;

export function encodeModel(model: Model): Uint8Array {
  const msg: Msg = {
    irVersion: model.irVersion || 8,
    opsetImport: Object.entries(model.opsets).map(([domain, version]) => ({ domain, version })),
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    modelVersion: model.modelVersion,
    docString: model.docString,
    graph: graphMsg(model.graph),
    metadataProps: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
  };
  return ModelProto.encode(ModelProto.fromObject(msg)).finish();
}

function typeMsg(t: ValueType | null): Msg | undefined {
  if (!t) return undefined;
  return {
    tensorType: {
      elemType: dtypeToOnnx(t.dtype),
      ...(t.shape ? { shape: { dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } : {}),
    },
  };
}

function graphMsg(g: Graph): Msg {
  const vi = (name: string): Msg => ({ name, type: typeMsg(g.values.get(name)?.type ?? null) });
  const declared = new Set([...g.inputs, ...g.outputs, ...g.initializers.keys()]);
  return {
    name: g.name,
    docString: g.docString ?? '',
    node: g.nodes.map((n) => ({
      name: n.name || n.id,
      opType: n.opType,
      domain: n.domain,
      input: n.inputs,
      output: n.outputs,
      docString: n.docString ?? '',
      attribute: Object.entries(n.attrs).map(([name, a]) => attrMsg(name, a)),
    })),
    initializer: [...g.initializers.values()].map(initializerMsg),
    input: g.inputs.map(vi),
    output: g.outputs.map(vi),
    valueInfo: [...g.values.keys()].filter((v) => !declared.has(v) && g.values.get(v)!.type).map(vi),
  };
}

function attrMsg(name: string, a: AttrValue): Msg {
  const enc = new TextEncoder();
  switch (a.type) {
    case 'float': return { name, type: 1, f: a.value };
    case 'int': return { name, type: 2, i: a.value };
    case 'string': return { name, type: 3, s: enc.encode(a.value) };
    case 'tensor': return { name, type: 4, t: initializerMsg(a.value) };
    case 'graph': return { name, type: 5, g: graphMsg(a.value) };
    case 'floats': return { name, type: 6, floats: a.value };
    case 'ints': return { name, type: 7, ints: a.value };
    case 'strings': return { name, type: 8, strings: a.value.map((s) => enc.encode(s)) };
    case 'tensors': return { name, type: 9, tensors: a.value.map(initializerMsg) };
    case 'graphs': return { name, type: 10, graphs: a.value.map(graphMsg) };
    case 'ref': return { name, refAttrName: a.value };
    case 'other': throw new Error(`cannot encode attribute "${name}" (${a.value})`);
  }
}

function initializerMsg(init: Initializer): Msg {
  const base: Msg = { name: init.name, dataType: dtypeToOnnx(init.dtype), dims: init.dims, docString: init.docString ?? '' };
  if (init.source.kind === 'external') {
    const ext = [{ key: 'location', value: init.source.location }, { key: 'offset', value: String(init.source.offset) }];
    if (init.source.length !== null) ext.push({ key: 'length', value: String(init.source.length) });
    return { ...base, dataLocation: 1, externalData: ext };
  }
  const p = init.source.proto;
  return {
    ...base,
    ...(p.rawData ? { rawData: p.rawData } : {}),
    ...(p.floatData ? { floatData: p.floatData } : {}),
    ...(p.int32Data ? { int32Data: p.int32Data } : {}),
    ...(p.int64Data ? { int64Data: p.int64Data.map((v) => (typeof v === 'bigint' ? v.toString() : v)) } : {}),
    ...(p.doubleData ? { doubleData: p.doubleData } : {}),
    ...(p.stringData ? { stringData: p.stringData } : {}),
  };
}

/** An in-memory tensor as an inline initializer (raw little-endian bytes). */
export function tensorToInitializer(name: string, t: Tensor): Initializer {
  if (t.dtype === 'string') {
    const enc = new TextEncoder();
    return { name, dtype: t.dtype, dims: t.dims.slice(), source: { kind: 'inline', proto: { stringData: (t.data as string[]).map((s) => enc.encode(s)) } } };
  }
  const d = t.data as Exclude<Tensor['data'], string[]>;
  const raw = new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
  return { name, dtype: t.dtype, dims: t.dims.slice(), source: { kind: 'inline', proto: { rawData: raw } } };
}

/** A tensor as a serialized TensorProto (.pb). */
export function encodeTensor(name: string, t: Tensor): Uint8Array {
  return TensorProto.encode(TensorProto.fromObject(initializerMsg(tensorToInitializer(name, t)))).finish();
}
