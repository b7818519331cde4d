// A small helper for writing sample models in code: nodes named the way PyTorch's exporter names them
// ("/layers.0/attention/wq/MatMul", outputs "<node>_output_0"), initializers inline or as external data,
// and a type on every value so a generated file carries its shapes like a shape-inferred export does.

import type { AttrValue, Graph, Initializer, Model, ValueType } from '../ir/graph';
import type { DType } from '../ir/dtype';
import type { Dim } from '../ir/shape';
import { tensor, type Tensor, type TensorArray } from '../ir/tensor';
import { tensorToInitializer } from '../onnx/encode';
import { seededRandom } from '../util/random';
export { seededRandom };

export type Attrs = Record<string, number | number[] | string | Tensor | { float: number }>;

export class GraphBuilder {
  readonly graph: Graph = { name: 'main_graph', nodes: [], values: new Map(), inputs: [], outputs: [], initializers: new Map() };
  /** Per scope, how often each op type was used, for PyTorch's "_1", "_2" suffixes. */
  private readonly used = new Map<string, number>();

  /** Declares a graph input (data the user feeds). */
  input(name: string, dtype: DType, shape: Dim[]): string {
    this.graph.inputs.push(name);
    this.setType(name, dtype, shape);
    return name;
  }

  output(name: string): void {
    this.graph.outputs.push(name);
  }

  setType(name: string, dtype: DType, shape: Dim[]): void {
    const type: ValueType = { dtype, shape: shape.slice() };
    const v = this.graph.values.get(name);
    if (v) v.type = type;
    else this.graph.values.set(name, { name, type });
  }

  /** An initializer with its data in the file. */
  param(name: string, t: Tensor): string {
    return this.addInitializer(tensorToInitializer(name, t));
  }

  /** An initializer whose bytes live in an external-data file at `offset` (the file need not exist). */
  externalParam(name: string, dtype: DType, dims: number[], location: string, offset: number, length: number): string {
    return this.addInitializer({ name, dtype, dims: dims.slice(), source: { kind: 'external', file: '', location, offset, length } });
  }

  private addInitializer(init: Initializer): string {
    if (this.graph.initializers.has(init.name)) throw new Error(`initializer "${init.name}" defined twice`);
    this.graph.initializers.set(init.name, init);
    this.setType(init.name, init.dtype, init.dims);
    return init.name;
  }

  /**
   * Adds a node in `scope` ("/layers.0/attention", '' for the top level) and returns its output names.
   * `types` gives each output's dtype and shape.
   */
  node(scope: string, opType: string, inputs: string[], types: [DType, Dim[]][], attrs: Attrs = {}): string[] {
    const key = `${scope}/${opType}`;
    const k = this.used.get(key) ?? 0;
    this.used.set(key, k + 1);
    const name = k === 0 ? key : `${key}_${k}`;
    const outputs = types.map((_, i) => `${name}_output_${i}`);
    this.graph.nodes.push({ id: name, name, opType, domain: '', inputs, outputs, attrs: toAttrs(attrs), layer: '' });
    types.forEach(([dtype, shape], i) => this.setType(outputs[i], dtype, shape));
    return outputs;
  }

  /** Single-output node. */
  op(scope: string, opType: string, inputs: string[], dtype: DType, shape: Dim[], attrs: Attrs = {}): string {
    return this.node(scope, opType, inputs, [[dtype, shape]], attrs)[0];
  }

  /** A Constant node holding `t`. */
  constant(scope: string, t: Tensor): string {
    return this.op(scope, 'Constant', [], t.dtype, t.dims, { value: t });
  }

  model(opts: { producerName: string; opset: number; docString?: string; metadata?: Record<string, string> }): Model {
    return {
      path: '',
      irVersion: 8,
      opsets: { '': opts.opset },
      producerName: opts.producerName,
      producerVersion: '0.1.0',
      modelVersion: 1,
      docString: opts.docString ?? '',
      metadata: opts.metadata ?? {},
      graph: this.graph,
      warnings: [],
    };
  }
}

function toAttrs(a: Attrs): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(a)) {
    if (typeof v === 'number') out[k] = { type: 'int', value: v };
    else if (typeof v === 'string') out[k] = { type: 'string', value: v };
    else if (Array.isArray(v)) out[k] = { type: 'ints', value: v };
    else if ('float' in v) out[k] = { type: 'float', value: v.float };
    else out[k] = { type: 'tensor', value: tensorToInitializer('', v) };
  }
  return out;
}

/** Scalar and 1-D constants, the shapes PyTorch's exporter emits for them. */
export const scalar = (dtype: DType, v: number): Tensor => tensor(dtype, [], arrayOf(dtype, [v]));
export const vector = (dtype: DType, vs: number[]): Tensor => tensor(dtype, [vs.length], arrayOf(dtype, vs));

function arrayOf(dtype: DType, vs: number[]): TensorArray {
  switch (dtype) {
    case 'int64': return BigInt64Array.from(vs.map((v) => BigInt(v)));
    case 'float32': return Float32Array.from(vs);
    case 'float16': return Uint16Array.from(vs.map(toHalfBits));
    case 'bool': return Uint8Array.from(vs);
    default: throw new Error(`sample constants of type ${dtype} are not supported`);
  }
}

/** IEEE half-precision bits of a float (round to nearest even; enough for the constants samples use). */
export function toHalfBits(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 0x1f) return sign | 0x7bff; // clamp to the largest finite half: masks use "most negative"
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && (half & 1)) ? 1 : 0));
  }
  const half = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && (half & 1)) ? 1 : 0));
}

