// FLOPs and bytes moved per operator, from the node and the types of its values. Conventions: a
// multiply-add is 2 FLOPs; a transcendental function (exp, erf, tanh...) counts as 1, as fvcore and
// ptflops count it; bytes = every input read once + every output written once, at its dtype's size.
// A symbolic dimension counts as 1 and marks the result approximate, as does a value of unknown type.

import { attrInt, attrInts, type Graph, type Node, type ValueType } from '../ir/graph';
import { dtypeBits } from '../ir/dtype';
import { classOfOpType, type OpClass } from './opClass';
import { GRADIENT_OPS } from './gradientOps';

export interface OpCost {
  flops: number;
  bytes: number;
  opClass: OpClass;
  /** True when a dimension was symbolic, a type unknown, or the operator not in any table. */
  approximate: boolean;
  /** Why the figure is approximate, for the report. */
  notes: string[];
}

export type TypeOf = (value: string) => ValueType | null;

export interface CostContext {
  /** The forward node a gradient operator differentiates (from TrainingAnnotations.forwardOf). */
  forward?: Node;
}

/** FLOPs per output element of elementwise operators. */
const ELEMENTWISE_FLOPS: Record<string, number> = {
  Add: 1, Sub: 1, Mul: 1, Div: 1, Neg: 1, Abs: 1, Relu: 1, Sqrt: 1, Reciprocal: 1, Pow: 1, Exp: 1, Log: 1,
  Erf: 1, Sin: 1, Cos: 1, Tanh: 1, Floor: 1, Ceil: 1, Equal: 1, Greater: 1, Less: 1, Not: 1, And: 1, Or: 1,
  Where: 1, Max: 1, Min: 1, Sum: 1, Mean: 2,
  Sigmoid: 4, // 1 / (1 + exp(-x))
  HardSigmoid: 4, // max(0, min(1, alpha * x + beta))
  HardSwish: 5, // x * HardSigmoid(x)
  Clip: 2,
  LeakyRelu: 2,
  Gelu: 5, // 0.5 * x * (1 + erf(x / sqrt 2))
  Dropout: 2, // mask draw + multiply
};

/** A value's static dims, with symbolic dims as 1. */
interface Dims {
  dims: number[];
  bytesPerElement: number;
}

class CostBuilder {
  approximate = false;
  readonly notes: string[] = [];
  constructor(readonly node: Node, readonly typeOf: TypeOf) {}

  note(why: string): void {
    this.approximate = true;
    if (!this.notes.includes(why)) this.notes.push(why);
  }

  dims(value: string | undefined): Dims | null {
    if (!value) return null;
    const t = this.typeOf(value);
    if (!t || t.shape === null) {
      this.note(`type of "${value}" unknown`);
      return null;
    }
    const dims = t.shape.map((d) => {
      if (typeof d === 'number') return d;
      this.note(`symbolic dimension "${d}" counted as 1`);
      return 1;
    });
    return { dims, bytesPerElement: dtypeBits(t.dtype) / 8 };
  }

  numel(value: string | undefined): number {
    const d = this.dims(value);
    return d ? product(d.dims) : 0;
  }

  bytes(value: string | undefined): number {
    const d = this.dims(value);
    return d ? product(d.dims) * d.bytesPerElement : 0;
  }
}

function product(xs: readonly number[]): number {
  let p = 1;
  for (const x of xs) p *= x;
  return p;
}

/** Bytes read and written; data-movement operators that read only part of an input say so here. */
function bytesMoved(b: CostBuilder, opClass: OpClass): number {
  if (opClass === 'none') return 0;
  const n = b.node;
  const outBytes = n.outputs.reduce((s, o) => s + b.bytes(o), 0);
  if (n.opType === 'Gather' || n.opType === 'Slice') {
    // Only the gathered rows / the slice are read, plus the index or bound tensors.
    return 2 * outBytes + n.inputs.slice(1).reduce((s, i) => s + b.bytes(i), 0);
  }
  return n.inputs.reduce((s, i) => s + b.bytes(i), 0) + outBytes;
}

function isTrainingBatchNorm(n: Node): boolean {
  return attrInt(n, 'training_mode', 0) === 1 || n.outputs.filter((o) => o !== '').length > 1;
}

/** FLOPs and class of a standard ONNX operator, or null when it is not one this module knows. */
function standardFlops(b: CostBuilder): { flops: number; opClass: OpClass } | null {
  const n = b.node;
  const op = n.opType;
  const out = () => b.numel(n.outputs[0]);
  switch (op) {
    case 'Conv': {
      const w = b.dims(n.inputs[1]);
      const x = b.dims(n.inputs[0]);
      const group = attrInt(n, 'group', 1);
      let y = b.dims(n.outputs[0]);
      if (!w) return { flops: 0, opClass: 'conv' };
      if (!y && x) {
        y = { dims: [x.dims[0], w.dims[0], ...x.dims.slice(2)], bytesPerElement: 4 };
        b.note('Conv output shape unknown: stride 1 assumed');
      }
      const yn = y ? product(y.dims) : 0;
      const macsPerOutput = product(w.dims.slice(1)); // (C_in / group) x kernel
      const bias = n.inputs[2] ? yn : 0;
      const depthwise = group > 1 && w.dims[1] === 1 && (!x || x.dims[1] === group);
      return { flops: 2 * yn * macsPerOutput + bias, opClass: depthwise ? 'depthwise' : 'conv' };
    }
    case 'ConvTranspose': {
      const w = b.dims(n.inputs[1]); // [C_in, C_out / group, k...]
      const xn = b.numel(n.inputs[0]);
      if (!w) return { flops: 0, opClass: 'conv' };
      const bias = n.inputs[2] ? out() : 0;
      return { flops: 2 * xn * product(w.dims.slice(1)) + bias, opClass: 'conv' };
    }
    case 'MatMul': {
      const a = b.dims(n.inputs[0]);
      const k = a ? a.dims[a.dims.length - 1] : 0;
      return { flops: 2 * out() * k, opClass: 'gemm' };
    }
    case 'Gemm': {
      const a = b.dims(n.inputs[0]);
      const k = a ? (attrInt(n, 'transA', 0) ? a.dims[0] : a.dims[1]) : 0;
      const yn = out();
      return { flops: 2 * yn * k + (n.inputs[2] ? yn : 0), opClass: 'gemm' };
    }
    case 'BatchNormalization':
      // Inference: (x - mean) * invstd * gamma + beta = 4 per element. Training adds the batch mean
      // (1) and variance (3: subtract, square, add) per element.
      return { flops: (isTrainingBatchNorm(n) ? 8 : 4) * b.numel(n.inputs[0]), opClass: 'reduction' };
    case 'LayerNormalization':
    case 'InstanceNormalization':
      return { flops: 8 * b.numel(n.inputs[0]), opClass: 'reduction' };
    case 'Softmax':
    case 'LogSoftmax':
      // max, subtract, exp, sum, divide (or log and subtract).
      return { flops: 5 * b.numel(n.inputs[0]), opClass: 'reduction' };
    case 'SoftmaxCrossEntropyLoss':
      return { flops: 5 * b.numel(n.inputs[0]) + b.numel(n.inputs[1]), opClass: 'reduction' };
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceProd':
      return { flops: b.numel(n.inputs[0]), opClass: 'reduction' };
    case 'ReduceMean':
      return { flops: b.numel(n.inputs[0]) + out(), opClass: 'reduction' };
    case 'ReduceSumSquare':
    case 'ReduceL2':
      return { flops: 2 * b.numel(n.inputs[0]), opClass: 'reduction' };
    case 'MaxPool':
      return { flops: out() * product(attrInts(n, 'kernel_shape') ?? [1]), opClass: 'reduction' };
    case 'AveragePool': {
      const yn = out();
      return { flops: yn * product(attrInts(n, 'kernel_shape') ?? [1]) + yn, opClass: 'reduction' };
    }
    case 'GlobalAveragePool':
      return { flops: b.numel(n.inputs[0]) + out(), opClass: 'reduction' };
    case 'GlobalMaxPool':
      return { flops: b.numel(n.inputs[0]), opClass: 'reduction' };
    case 'Range':
      return { flops: out(), opClass: 'data' };
  }
  const perElement = ELEMENTWISE_FLOPS[op];
  if (perElement !== undefined) return { flops: perElement * out(), opClass: 'elementwise' };
  const cls = classOfOpType(op);
  if (cls === 'data' || cls === 'none') return { flops: 0, opClass: cls };
  return null;
}

const isDefaultDomain = (d: string) => d === '' || d === 'ai.onnx';

/** FLOPs, bytes moved and class of one operator. */
export function opCost(node: Node, typeOf: TypeOf, ctx: CostContext = {}): OpCost {
  const b = new CostBuilder(node, typeOf);
  let fc = isDefaultDomain(node.domain) ? standardFlops(b) : null;
  if (!fc) {
    const rule = GRADIENT_OPS[node.opType];
    if (rule && 'like' in rule) {
      if (ctx.forward) {
        const fwd = opCost(ctx.forward, typeOf);
        for (const note of fwd.notes) b.note(note);
        fc = { flops: fwd.flops, opClass: fwd.opClass };
      } else {
        b.note(`${node.opType}: forward node not given, counted one FLOP per element touched`);
        const touched = [...node.inputs, ...node.outputs].reduce((s, v) => s + b.numel(v), 0);
        fc = { flops: touched, opClass: classOfOpType(rule.like) };
      }
    } else if (rule && 'perOutputElement' in rule) {
      fc = { flops: rule.perOutputElement * b.numel(node.outputs[0]), opClass: rule.opClass };
    } else if (rule) {
      const largest = Math.max(0, ...node.inputs.map((i) => b.numel(i)));
      fc = { flops: rule.perInputElement * largest, opClass: rule.opClass };
    } else if (!isDefaultDomain(node.domain) && (fc = standardFlops(b))) {
      // A standard operator name in another domain (e.g. a copy in 'pockengine'): costed as the standard one.
    } else {
      b.note(`no FLOP rule for ${node.domain ? node.domain + '.' : ''}${node.opType}: one FLOP per output element`);
      fc = { flops: b.numel(node.outputs[0]), opClass: 'elementwise' };
    }
  }
  const { flops, opClass } = fc!;
  return { flops, bytes: bytesMoved(b, opClass), opClass, approximate: b.approximate, notes: b.notes };
}

/** Types from a graph: the value's inferred type, else the initializer's. */
export function graphTypeOf(graph: Graph): TypeOf {
  return (name) => {
    const t = graph.values.get(name)?.type;
    if (t && t.shape !== null) return t;
    const init = graph.initializers.get(name);
    if (init) return { dtype: init.dtype, shape: init.dims.slice() };
    return t ?? null;
  };
}

/** Costs of every node of a graph, by node id; `forwardOf` links gradient nodes to their forward nodes. */
export function graphCosts(graph: Graph, forwardOf?: ReadonlyMap<string, string>): Map<string, OpCost> {
  const typeOf = graphTypeOf(graph);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const costs = new Map<string, OpCost>();
  for (const n of graph.nodes) {
    const fwdId = forwardOf?.get(n.id);
    costs.set(n.id, opCost(n, typeOf, { forward: fwdId ? byId.get(fwdId) : undefined }));
  }
  return costs;
}

/** Totals over a set of costs. */
export function sumCosts(costs: Iterable<OpCost>): { flops: number; bytes: number; approximate: boolean } {
  let flops = 0, bytes = 0, approximate = false;
  for (const c of costs) {
    flops += c.flops;
    bytes += c.bytes;
    approximate ||= c.approximate;
  }
  return { flops, bytes, approximate };
}
