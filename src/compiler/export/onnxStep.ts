// The training step as one ONNX model with standard operators only, so any ONNX runtime (ONNX Runtime on
// a Jetson or a Pi) can run it. Inputs: the batch, the trainable parameters and the optimizer state;
// outputs: the loss and their updated values (named `<param>.updated`, `<state>.updated`). Frozen weights
// and the folded prologue are initializers. The compiler's own operators (domain 'pockengine') are
// decomposed into standard ONNX:
//   ConvGradInput -> ConvTranspose (output_padding fixes the exact size)
//   ConvGradWeight -> Conv of the batch-transposed input by the batch-transposed dY (stride and dilation
//     swap), depthwise through a grouped Conv over N·C planes, then Slice to the kernel size
//   BatchNormalization (train) -> ReduceMean/Sub/Mul/Sqrt/Div; BatchNormGrad -> its closed form
//   MaxPoolGrad -> MaxPool's Indices + ScatterElements(reduction add); GatherGrad -> ScatterND(add)
//   SoftmaxCrossEntropy(Grad) -> SoftmaxCrossEntropyLoss / Softmax - OneHot; SGD -> Sub(p, lr·g)
//   ReduceToShape, ReduceGrad, SplitLike, SliceGrad, MatMulT, *Grad activations -> reductions, Expand,
//   Split, Pad, Transpose+MatMul, Where and arithmetic.
// The model is written at opset max(17, the model's) (ScatterElements/ScatterND reductions need 16).

import type { Tensor } from '../ir/tensor';
import type { AttrValue, Graph, Model, Node, Value } from '../ir/graph';
import { attrFloat, attrInt, attrInts } from '../ir/graph';
import type { CompileResult } from '../compile';
import { ModelError } from '../onnx/errors';
import { encodeModel, tensorToInitializer } from '../onnx/encode';
import { convGeometry } from '../runtime/im2col';
import { convAttrs } from '../runtime/kernels/conv';
import { batchNormTrains } from '../train/rules';

const A = {
  int: (value: number): AttrValue => ({ type: 'int', value }),
  ints: (value: number[]): AttrValue => ({ type: 'ints', value }),
  float: (value: number): AttrValue => ({ type: 'float', value }),
  string: (value: string): AttrValue => ({ type: 'string', value }),
};

export const updatedName = (v: string): string => `${v}.updated`;

export function onnxStepModel(r: CompileResult, values: Map<string, Tensor>): Model {
  const tg = r.program.tg;
  const g = tg.graph;
  const opset = Math.max(17, tg.opsets[''] ?? 13);
  const srcOpset = tg.opsets[''] ?? 13;
  const nodes: Node[] = [];
  const inits = new Map<string, Tensor>();
  let uid = 0;
  const fresh = (hint: string): string => `pe_onnx/${hint}_${uid++}`;
  const add = (opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, nOut = 1, outs?: string[]): string[] => {
    const outputs = outs ?? Array.from({ length: nOut }, () => fresh(opType));
    nodes.push({ id: fresh(`${opType}_node`), name: '', opType, domain: '', inputs, outputs, attrs, layer: '' });
    return outputs;
  };
  const one = (opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out?: string): string => add(opType, inputs, attrs, 1, out ? [out] : undefined)[0];
  const constI64 = (xs: number[], scalar = false): string => {
    const name = fresh('i64');
    inits.set(name, { dtype: 'int64', dims: scalar ? [] : [xs.length], data: BigInt64Array.from(xs.map((x) => BigInt(x))) } as Tensor);
    return name;
  };
  const constF = (x: number): string => {
    const name = fresh('f32');
    inits.set(name, { dtype: 'float32', dims: [], data: Float32Array.of(x) } as Tensor);
    return name;
  };
  const dimsOf = (v: string): number[] => {
    const t = values.get(v);
    if (!t) throw new ModelError(`the ONNX exporter has no shape for "${v}"`);
    return t.dims;
  };
  const numel = (d: number[]): number => d.reduce((p, x) => p * x, 1);
  const ints = (v: string | undefined): number[] | undefined => (v && values.has(v) ? Array.from(values.get(v)!.data as ArrayLike<number | bigint>, (x) => Number(x)) : undefined);
  const scalar = (v: string | undefined, dflt: number): number => (v && values.has(v) ? Number(values.get(v)!.data[0] as number) : dflt);
  const reduceSum = (x: string, axes: number[], keep: boolean, out?: string): string => (axes.length ? one('ReduceSum', [x, constI64(axes)], { keepdims: A.int(keep ? 1 : 0) }, out) : one('Identity', [x], {}, out));
  const reduceMean = (x: string, axes: number[], out?: string): string => (opset >= 18 ? one('ReduceMean', [x, constI64(axes)], { keepdims: A.int(1) }, out) : one('ReduceMean', [x], { axes: A.ints(axes), keepdims: A.int(1) }, out));
  const reshape = (x: string, dims: number[], out?: string): string => one('Reshape', [x, constI64(dims)], {}, out);

  const decompose = (n: Node): void => {
    const [i0, i1, i2, i3, i4] = n.inputs;
    const o = n.outputs;
    switch (n.opType) {
      case 'BatchNormalization': {
        if (!batchNormTrains(n, srcOpset)) { nodes.push({ ...n, attrs: Object.fromEntries(Object.entries(n.attrs).filter(([k]) => k !== 'training_mode')), outputs: [o[0]] }); return; }
        const d = dimsOf(i0), C = d[1], axes = [0, ...d.slice(2).map((_, i) => i + 2)];
        const shapeC = [1, C, ...d.slice(2).map(() => 1)];
        const eps = attrFloat(n, 'epsilon', 1e-5), mom = attrFloat(n, 'momentum', 0.9);
        // Statistics and y = x·k + b in float64, rounded once: the reference runtime's arithmetic, so that
        // ReLU6 masks downstream (x near 0 or 6) select the same elements.
        const xd = one('Cast', [i0], { to: A.int(11) });
        const meanD = reduceMean(xd, axes);
        const xcD = one('Sub', [xd, meanD]);
        const vD = reduceMean(one('Mul', [xcD, xcD]), axes);
        const kD = one('Div', [one('Cast', [reshape(i1, shapeC)], { to: A.int(11) }), one('Sqrt', [one('Add', [vD, one('Cast', [constF(eps)], { to: A.int(11) })])])]);
        const bD = one('Sub', [one('Cast', [reshape(i2, shapeC)], { to: A.int(11) }), one('Mul', [meanD, kD])]);
        one('Cast', [one('Add', [one('Mul', [xd, kD]), bD])], { to: A.int(1) }, o[0]);
        const mean = one('Cast', [meanD], { to: A.int(1) }), v = one('Cast', [vD], { to: A.int(1) });
        const cnt = numel(d) / C;
        if (o[1]) one('Add', [one('Mul', [i3, constF(mom)]), one('Mul', [reshape(mean, [C]), constF(1 - mom)])], {}, o[1]);
        if (o[2]) one('Add', [one('Mul', [i4, constF(mom)]), one('Mul', [reshape(v, [C]), constF((1 - mom) * (cnt > 1 ? cnt / (cnt - 1) : 1))])], {}, o[2]);
        if (o[3]) reshape(mean, [C], o[3]);
        if (o[4]) reshape(v, [C], o[4]);
        return;
      }
      case 'BatchNormGrad': {
        const d = dimsOf(i0), C = d[1], axes = [0, ...d.slice(2).map((_, i) => i + 2)];
        const shapeC = [1, C, ...d.slice(2).map(() => 1)];
        const eps = attrFloat(n, 'epsilon', 1e-5);
        const training = attrInt(n, 'training_mode', 1) !== 0;
        const sc = reshape(i2, shapeC);
        let mean: string, inv: string;
        if (training) {
          mean = reduceMean(i1, axes);
          const xc0 = one('Sub', [i1, mean]);
          inv = one('Div', [constF(1), one('Sqrt', [one('Add', [reduceMean(one('Mul', [xc0, xc0]), axes), constF(eps)])])]);
        } else {
          mean = reshape(i3, shapeC);
          inv = one('Div', [constF(1), one('Sqrt', [one('Add', [reshape(i4, shapeC), constF(eps)])])]);
        }
        const db = reduceSum(i0, axes, true);
        let ds: string | undefined;
        if (i1) {
          const xhat = one('Mul', [one('Sub', [i1, mean]), inv]);
          ds = reduceSum(one('Mul', [i0, xhat]), axes, true);
          if (o[0]) {
            if (training) {
              const M = numel(d) / C;
              const inner = one('Sub', [one('Sub', [i0, one('Div', [db, constF(M)])]), one('Mul', [xhat, one('Div', [ds, constF(M)])])]);
              one('Mul', [one('Mul', [sc, inv]), inner], {}, o[0]);
            } else one('Mul', [i0, one('Mul', [sc, inv])], {}, o[0]);
          }
        } else if (o[0]) one('Mul', [i0, one('Mul', [sc, inv])], {}, o[0]);
        if (o[1]) reshape(ds ?? one('Mul', [db, constF(0)]), [C], o[1]);
        if (o[2]) reshape(db, [C], o[2]);
        return;
      }
      case 'ConvGradInput': {
        const x = dimsOf(o[0]), w = dimsOf(i1), dy = dimsOf(i0);
        const a = convAttrs(n, x.length - 2);
        const kernel = attrInts(n, 'kernel_shape') ?? w.slice(2);
        const geo = convGeometry(x.slice(2), kernel, a);
        const outPad = x.slice(2).map((s, k) => s - ((dy[k + 2] - 1) * geo.strides[k] - geo.padsBegin[k] - geo.padsEnd[k] + (kernel[k] - 1) * geo.dilations[k] + 1));
        one('ConvTranspose', [i0, i1], {
          strides: A.ints(geo.strides), dilations: A.ints(geo.dilations), pads: A.ints([...geo.padsBegin, ...geo.padsEnd]), group: A.int(a.group),
          kernel_shape: A.ints(kernel), output_padding: A.ints(outPad),
        }, o[0]);
        return;
      }
      case 'ConvGradWeight': {
        const x = dimsOf(i0), dy = dimsOf(i1), w = dimsOf(i2);
        if (n.attrs.channels) throw new ModelError(`${n.id}: a channel-sliced weight gradient has no ONNX export yet`);
        if (x.length !== 4) throw new ModelError(`${n.id}: only 2-D convolutions are exported to ONNX`);
        const a = convAttrs(n, 2);
        const kernel = attrInts(n, 'kernel_shape') ?? w.slice(2);
        const geo = convGeometry(x.slice(2), kernel, a);
        const [N, C, H, W] = x, M = dy[1];
        const pads = A.ints([...geo.padsBegin, ...geo.padsEnd]);
        let full: string;
        if (a.group === 1) {
          const xt = one('Transpose', [i0], { perm: A.ints([1, 0, 2, 3]) });
          const dyt = one('Transpose', [i1], { perm: A.ints([1, 0, 2, 3]) });
          const c = one('Conv', [xt, dyt], { strides: A.ints(geo.dilations), dilations: A.ints(geo.strides), pads }); // [C, M, KH', KW']
          full = one('Transpose', [c], { perm: A.ints([1, 0, 2, 3]) });
        } else if (a.group === C && M === C) {
          const xr = reshape(i0, [1, N * C, H, W]);
          const dyr = reshape(i1, [N * C, 1, dy[2], dy[3]]);
          const c = one('Conv', [xr, dyr], { strides: A.ints(geo.dilations), dilations: A.ints(geo.strides), pads, group: A.int(N * C) }); // [1, N·C, KH', KW']
          const r4 = one('Reshape', [c, constI64([N, C, 1, -1])]);
          const s = reduceSum(r4, [0], false); // [C, 1, KH'·KW']
          // back to [C, 1, KH', KW'] with the conv's spatial size
          const khp = Math.floor((H + geo.padsBegin[0] + geo.padsEnd[0] - geo.strides[0] * (dy[2] - 1) - 1) / geo.dilations[0]) + 1;
          const kwp = Math.floor((W + geo.padsBegin[1] + geo.padsEnd[1] - geo.strides[1] * (dy[3] - 1) - 1) / geo.dilations[1]) + 1;
          full = reshape(s, [C, 1, khp, kwp]);
        } else throw new ModelError(`${n.id}: grouped convolution gradients (group ${a.group}) other than depthwise have no ONNX export yet`);
        one('Slice', [full, constI64([0, 0]), constI64(kernel), constI64([2, 3])], {}, o[0]);
        return;
      }
      case 'ConvGradBias': {
        reduceSum(i0, [0, ...dimsOf(i0).slice(2).map((_, i) => i + 2)], false, o[0]);
        return;
      }
      case 'MaxPoolGrad': {
        const x = dimsOf(i1);
        const attrs: Record<string, AttrValue> = {};
        for (const k of ['kernel_shape', 'strides', 'pads', 'dilations', 'ceil_mode', 'auto_pad']) if (n.attrs[k]) attrs[k] = n.attrs[k];
        const [, idx] = add('MaxPool', [i1], attrs, 2);
        const zeros = one('ConstantOfShape', [constI64([numel(x)])], { value: { type: 'tensor', value: tensorToInitializer('z', { dtype: 'float32', dims: [1], data: Float32Array.of(0) } as Tensor) } });
        const sc = one('ScatterElements', [zeros, reshape(idx, [-1]), reshape(i0, [-1])], { axis: A.int(0), reduction: A.string('add') });
        reshape(sc, x, o[0]);
        return;
      }
      case 'GlobalAveragePoolGrad': {
        const x = dimsOf(o[0]);
        one('Expand', [one('Div', [i0, constF(numel(x.slice(2)))]), constI64(x)], {}, o[0]);
        return;
      }
      case 'AveragePoolGrad':
        throw new ModelError(`${n.id}: AveragePoolGrad has no ONNX export yet`);
      case 'ReluGrad':
        one('Where', [one('Greater', [i1, constF(0)]), i0, constF(0)], {}, o[0]);
        return;
      case 'ClipGrad': {
        const lo = i2 ? i2 : constF(n.attrs.min ? attrFloat(n, 'min', -Infinity) : -3.4e38);
        const hi = i3 ? i3 : constF(n.attrs.max ? attrFloat(n, 'max', Infinity) : 3.4e38);
        one('Where', [one('And', [one('GreaterOrEqual', [i1, lo]), one('LessOrEqual', [i1, hi])]), i0, constF(0)], {}, o[0]);
        return;
      }
      case 'SigmoidGrad':
        one('Mul', [i0, one('Mul', [i1, one('Sub', [constF(1), i1])])], {}, o[0]);
        return;
      case 'TanhGrad':
        one('Mul', [i0, one('Sub', [constF(1), one('Mul', [i1, i1])])], {}, o[0]);
        return;
      case 'SoftmaxGrad': case 'LogSoftmaxGrad': {
        const d = dimsOf(i0);
        const ax = attrInt(n, 'axis', -1);
        const axis = ax < 0 ? ax + d.length : ax;
        if (n.opType === 'SoftmaxGrad') one('Mul', [i1, one('Sub', [i0, reduceSum(one('Mul', [i0, i1]), [axis], true)])], {}, o[0]);
        else one('Sub', [i0, one('Mul', [one('Exp', [i1]), reduceSum(i0, [axis], true)])], {}, o[0]);
        return;
      }
      case 'DropoutGrad': {
        const ratio = scalar(i2, attrFloat(n, 'ratio', 0.5));
        const training = i3 ? scalar(i3, 0) !== 0 : false;
        const scale = training && ratio < 1 ? 1 / (1 - ratio) : 1;
        one('Where', [i1, one('Mul', [i0, constF(scale)]), constF(0)], {}, o[0]);
        return;
      }
      case 'SoftmaxCrossEntropy': {
        const d = dimsOf(i0), C = d[d.length - 1];
        one('SoftmaxCrossEntropyLoss', [reshape(i0, [-1, C]), reshape(i1, [-1])], { reduction: A.string('mean') }, o[0]);
        return;
      }
      case 'SoftmaxCrossEntropyGrad': {
        const d = dimsOf(i1), C = d[d.length - 1], rows = numel(d) / C;
        const sm = one('Softmax', [reshape(i1, [-1, C])], { axis: A.int(-1) });
        const oh = one('OneHot', [reshape(i2, [-1]), constI64([C], true), one('Cast', [constI64([0, 1])], { to: A.int(1) })], { axis: A.int(-1) });
        const gr = one('Mul', [one('Sub', [sm, oh]), one('Div', [i0, constF(rows)])]);
        reshape(gr, d, o[0]);
        return;
      }
      case 'ReduceToShape': {
        const gd = dimsOf(i0), td = dimsOf(o[0]);
        const lead = gd.length - td.length;
        const axes = gd.map((_, i) => i).filter((i) => i < lead || (td[i - lead] === 1 && gd[i] !== 1));
        reshape(reduceSum(i0, axes, true), td, o[0]);
        return;
      }
      case 'ReduceGrad': {
        const xd = dimsOf(o[0]);
        const axes = (ints(i2) ?? attrInts(n, 'axes') ?? []).map((a) => (a < 0 ? a + xd.length : a));
        const kept = axes.length ? xd.map((d, i) => (axes.includes(i) ? 1 : d)) : xd.map(() => 1);
        const count = numel(xd) / numel(kept);
        let dy = reshape(i0, kept);
        if (attrInt(n, 'mean', 0)) dy = one('Div', [dy, constF(count)]);
        one('Expand', [dy, constI64(xd)], {}, o[0]);
        return;
      }
      case 'SplitLike': {
        const gd = dimsOf(i0);
        const ax = attrInt(n, 'axis', 0), axis = ax < 0 ? ax + gd.length : ax;
        const sizes = o.map((v) => dimsOf(v)[axis]);
        add('Split', [i0, constI64(sizes)], { axis: A.int(axis) }, o.length, o);
        return;
      }
      case 'SliceGrad': {
        const xd = dimsOf(o[0]), dyd = dimsOf(i0);
        const starts = ints(i2) ?? attrInts(n, 'starts') ?? [];
        const axes = (ints(i4) ?? attrInts(n, 'axes') ?? starts.map((_, k) => k)).map((a) => (a < 0 ? a + xd.length : a));
        const steps = ints(n.inputs[5]) ?? starts.map(() => 1);
        if (steps.some((s) => s !== 1)) throw new ModelError(`${n.id}: SliceGrad with steps other than 1 has no ONNX export yet`);
        const begin = xd.map(() => 0);
        axes.forEach((a, k) => { const s = starts[k]; begin[a] = Math.min(Math.max(s < 0 ? s + xd[a] : s, 0), xd[a]); });
        const end = xd.map((d, i) => d - begin[i] - dyd[i]);
        one('Pad', [i0, constI64([...begin, ...end])], {}, o[0]);
        return;
      }
      case 'GatherGrad': {
        const xd = dimsOf(o[0]);
        if (attrInt(n, 'axis', 0) !== 0) throw new ModelError(`${n.id}: GatherGrad on axis != 0 has no ONNX export yet`);
        const nidx = numel(dimsOf(i1));
        const zeros = one('ConstantOfShape', [constI64(xd)], { value: { type: 'tensor', value: tensorToInitializer('z', { dtype: 'float32', dims: [1], data: Float32Array.of(0) } as Tensor) } });
        // negative indices wrap, as Gather's do
        const idx = reshape(i1, [nidx, 1]);
        const wrapped = one('Where', [one('Less', [idx, constI64([0], true)]), one('Add', [idx, constI64([xd[0]], true)]), idx]);
        one('ScatterND', [zeros, wrapped, reshape(i0, [nidx, ...xd.slice(1)])], { reduction: A.string('add') }, o[0]);
        return;
      }
      case 'MatMulT': {
        const ta = attrInt(n, 'transA', 0), tb = attrInt(n, 'transB', 0);
        const tr = (v: string): string => {
          const r = dimsOf(v).length;
          const perm = Array.from({ length: r }, (_, i) => i);
          [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
          return one('Transpose', [v], { perm: A.ints(perm) });
        };
        one('MatMul', [ta ? tr(i0) : i0, tb ? tr(i1) : i1], {}, o[0]);
        return;
      }
      case 'SGD': {
        if (attrFloat(n, 'momentum', 0) !== 0 || attrFloat(n, 'weight_decay', 0) !== 0 || n.attrs.channels) throw new ModelError(`${n.id}: only plain SGD has an ONNX export yet`);
        one('Sub', [i0, one('Mul', [i1, constF(attrFloat(n, 'lr', 0.01))])], {}, o[0]);
        return;
      }
      default:
        if (n.domain && n.domain !== 'ai.onnx') throw new ModelError(`${n.id}: operator ${n.domain}::${n.opType} has no ONNX decomposition`);
        nodes.push(n);
    }
  };
  for (const n of r.program.order) decompose(n);

  // Graph inputs: batch, trainable parameters, optimizer state; initializers: everything else it reads.
  const inputs = [...tg.dataInputs, ...tg.updated.keys(), ...tg.state.map((s) => s.name)];
  const inputSet = new Set(inputs);
  const produced = new Set(nodes.flatMap((x) => x.outputs));
  for (const x of nodes) for (const v of x.inputs) {
    if (!v || produced.has(v) || inputSet.has(v) || inits.has(v)) continue;
    const t = values.get(v);
    if (!t) throw new ModelError(`the ONNX step reads "${v}", which has no value`);
    inits.set(v, t);
  }
  // Outputs: loss, then updated parameters and state under their own names.
  const outputs = [tg.loss.loss];
  for (const [p, v] of [...tg.updated, ...tg.state.map((s): [string, string] => [s.name, s.next])]) {
    const name = updatedName(p);
    nodes.push({ id: fresh('out'), name: '', opType: 'Identity', domain: '', inputs: [v], outputs: [name], attrs: {}, layer: '' });
    outputs.push(name);
  }
  const valuesMap = new Map<string, Value>();
  const typeOf = (v: string, t: Tensor | undefined): Value => ({ name: v, type: t ? { dtype: t.dtype, shape: t.dims.slice() } : null });
  for (const v of inputs) valuesMap.set(v, typeOf(v, values.get(v)));
  valuesMap.set(tg.loss.loss, typeOf(tg.loss.loss, values.get(tg.loss.loss)));
  for (const [p] of [...tg.updated, ...tg.state.map((s): [string, string] => [s.name, s.next])]) valuesMap.set(updatedName(p), typeOf(updatedName(p), values.get(p)));
  const graph: Graph = {
    name: `${g.name || 'model'}_training_step`, nodes, values: valuesMap, inputs, outputs,
    initializers: new Map([...inits].map(([k, t]) => [k, tensorToInitializer(k, t)])),
  };
  return {
    path: '', irVersion: 8, opsets: { '': opset }, producerName: 'pockengine export', producerVersion: '1', modelVersion: 1,
    docString: 'one SGD training step: inputs batch, trainable parameters, optimizer state; outputs loss and updated values (<name>.updated)', metadata: {},
    graph, warnings: [],
  };
}

export function exportOnnxStep(r: CompileResult, values: Map<string, Tensor>): Uint8Array {
  return encodeModel(onnxStepModel(r, values));
}
