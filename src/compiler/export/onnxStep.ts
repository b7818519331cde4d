// The training step as one ONNX model with standard operators only, so any ONNX runtime (ONNX Runtime on
// a Jetson or a Pi) can run it. Inputs: the batch, the trainable parameters, the optimizer state
// (momentum buffers, Adam moments, the int64 step count) and the BatchNorm running statistics that
// train-mode BatchNorms update; outputs: the loss and their updated values (named `<param>.updated`,
// `<state>.updated`, `<buffer>.updated`), so a device loop that feeds them back also keeps the statistics
// an evaluation needs. Frozen weights and the folded prologue are initializers.
// The compiler's own operators (domain 'pockengine', runtime/grad/OPS.md) are decomposed into standard
// ONNX, one family per file under onnxLowering/:
//   conv.ts      ConvGradInput -> ConvTranspose; ConvGradWeight -> one grouped Conv (any group, sparse
//                `channels`); ConvGradBias -> ReduceSum
//   pool.ts      MaxPoolGrad -> MaxPool Indices + ScatterElements(add); AveragePoolGrad -> ConvTranspose
//                by ones; GlobalAveragePoolGrad -> Expand
//   shape.ts     SliceGrad (any steps) -> Pad/Reshape/Slice; GatherGrad -> ScatterND / ScatterElements(add)
//                (any axis); PadGrad -> Slice + Pad; TileGrad -> Reshape + ReduceSum; SplitLike,
//                ReduceToShape, ReduceGrad
//   activation.ts LeakyRelu/HardSigmoid/HardSwish/Gelu (exact, tanh)/Erf/Softplus gradients from X
//   norm.ts      LayerNormGrad, InstanceNormGrad in closed form (float64 statistics)
//   optimizer.ts SGD (momentum, dampening, weight decay, Nesterov), Adam/AdamW, channel-sliced updates
// and here: BatchNormalization (train) and BatchNormGrad in closed form, the activation gradients as
// Where and arithmetic, SoftmaxCrossEntropy(Grad) -> SoftmaxCrossEntropyLoss / Softmax − OneHot, MatMulT.
// The model is written at opset max(17, the model's) (ScatterElements/ScatterND reductions need 16).

import type { Tensor } from '../ir/tensor';
import type { Graph, Model, Node, Value } from '../ir/graph';
import { attrFloat, attrInt } from '../ir/graph';
import type { CompileResult } from '../compile';
import { ModelError } from '../onnx/errors';
import { encodeModel, tensorToInitializer } from '../onnx/encode';
import { batchNormTrains } from '../train/rules';
import { A, createEmitter, numel, ONNX_DOUBLE, ONNX_FLOAT, type Emitter } from './onnxLowering/emitter';
import { lowerConvGradBias, lowerConvGradInput, lowerConvGradWeight } from './onnxLowering/conv';
import { lowerAveragePoolGrad, lowerGlobalAveragePoolGrad, lowerMaxPoolGrad } from './onnxLowering/pool';
import { lowerGatherGrad, lowerPadGrad, lowerReduceGrad, lowerReduceToShape, lowerSliceGrad, lowerSplitLike, lowerTileGrad } from './onnxLowering/shape';
import { lowerErfGrad, lowerGeluGrad, lowerHardSigmoidGrad, lowerHardSwishGrad, lowerLeakyReluGrad, lowerSoftplusGrad } from './onnxLowering/activation';
import { lowerInstanceNormGrad, lowerLayerNormGrad } from './onnxLowering/norm';
import { lowerAdam, lowerSgd } from './onnxLowering/optimizer';

export const updatedName = (v: string): string => `${v}.updated`;

type Lowering = (e: Emitter, n: Node) => void;

function lowerBatchNorm(e: Emitter, n: Node): void {
  const [i0, i1, i2, i3, i4] = n.inputs, o = n.outputs;
  if (!batchNormTrains(n, e.srcOpset)) { e.nodes.push({ ...n, attrs: Object.fromEntries(Object.entries(n.attrs).filter(([k]) => k !== 'training_mode')), outputs: [o[0]] }); return; }
  const d = e.dims(i0), C = d[1], axes = [0, ...d.slice(2).map((_, i) => i + 2)];
  const shapeC = [1, C, ...d.slice(2).map(() => 1)];
  const eps = attrFloat(n, 'epsilon', 1e-5), mom = attrFloat(n, 'momentum', 0.9);
  // Statistics and y = x·k + b in float64, rounded once: the reference runtime's arithmetic, so that
  // ReLU6 masks downstream (x near 0 or 6) select the same elements.
  const xd = e.cast(i0, ONNX_DOUBLE);
  const meanD = e.reduceMean(xd, axes);
  const xcD = e.one('Sub', [xd, meanD]);
  const vD = e.reduceMean(e.one('Mul', [xcD, xcD]), axes);
  const kD = e.one('Div', [e.cast(e.reshape(i1, shapeC), ONNX_DOUBLE), e.one('Sqrt', [e.one('Add', [vD, e.f64(eps)])])]);
  const bD = e.one('Sub', [e.cast(e.reshape(i2, shapeC), ONNX_DOUBLE), e.one('Mul', [meanD, kD])]);
  e.cast(e.one('Add', [e.one('Mul', [xd, kD]), bD]), ONNX_FLOAT, o[0]);
  const mean = e.cast(meanD, ONNX_FLOAT), v = e.cast(vD, ONNX_FLOAT);
  const cnt = numel(d) / C;
  if (o[1]) e.one('Add', [e.one('Mul', [i3, e.f32(mom)]), e.one('Mul', [e.reshape(mean, [C]), e.f32(1 - mom)])], {}, o[1]);
  if (o[2]) e.one('Add', [e.one('Mul', [i4, e.f32(mom)]), e.one('Mul', [e.reshape(v, [C]), e.f32((1 - mom) * (cnt > 1 ? cnt / (cnt - 1) : 1))])], {}, o[2]);
  if (o[3]) e.reshape(mean, [C], o[3]);
  if (o[4]) e.reshape(v, [C], o[4]);
}

function lowerBatchNormGrad(e: Emitter, n: Node): void {
  const [i0, i1, i2, i3, i4] = n.inputs, o = n.outputs;
  const d = e.dims(i0), C = d[1], axes = [0, ...d.slice(2).map((_, i) => i + 2)];
  const shapeC = [1, C, ...d.slice(2).map(() => 1)];
  const eps = attrFloat(n, 'epsilon', 1e-5);
  const training = attrInt(n, 'training_mode', 1) !== 0;
  const sc = e.reshape(i2, shapeC);
  let mean: string, inv: string;
  if (training) {
    mean = e.reduceMean(i1, axes);
    const xc0 = e.one('Sub', [i1, mean]);
    inv = e.one('Div', [e.f32(1), e.one('Sqrt', [e.one('Add', [e.reduceMean(e.one('Mul', [xc0, xc0]), axes), e.f32(eps)])])]);
  } else {
    mean = e.reshape(i3, shapeC);
    inv = e.one('Div', [e.f32(1), e.one('Sqrt', [e.one('Add', [e.reshape(i4, shapeC), e.f32(eps)])])]);
  }
  const db = e.reduceSum(i0, axes, true);
  let ds: string | undefined;
  if (i1) {
    const xhat = e.one('Mul', [e.one('Sub', [i1, mean]), inv]);
    ds = e.reduceSum(e.one('Mul', [i0, xhat]), axes, true);
    if (o[0]) {
      if (training) {
        const M = numel(d) / C;
        const inner = e.one('Sub', [e.one('Sub', [i0, e.one('Div', [db, e.f32(M)])]), e.one('Mul', [xhat, e.one('Div', [ds, e.f32(M)])])]);
        e.one('Mul', [e.one('Mul', [sc, inv]), inner], {}, o[0]);
      } else e.one('Mul', [i0, e.one('Mul', [sc, inv])], {}, o[0]);
    }
  } else if (o[0]) e.one('Mul', [i0, e.one('Mul', [sc, inv])], {}, o[0]);
  if (o[1]) e.reshape(ds ?? e.one('Mul', [db, e.f32(0)]), [C], o[1]);
  if (o[2]) e.reshape(db, [C], o[2]);
}

const LOWERINGS: Record<string, Lowering> = {
  BatchNormalization: lowerBatchNorm,
  BatchNormGrad: lowerBatchNormGrad,
  LayerNormGrad: lowerLayerNormGrad,
  InstanceNormGrad: lowerInstanceNormGrad,
  ConvGradInput: lowerConvGradInput,
  ConvGradWeight: lowerConvGradWeight,
  ConvGradBias: lowerConvGradBias,
  MaxPoolGrad: lowerMaxPoolGrad,
  AveragePoolGrad: lowerAveragePoolGrad,
  GlobalAveragePoolGrad: lowerGlobalAveragePoolGrad,
  SliceGrad: lowerSliceGrad,
  GatherGrad: lowerGatherGrad,
  PadGrad: lowerPadGrad,
  TileGrad: lowerTileGrad,
  SplitLike: lowerSplitLike,
  ReduceToShape: lowerReduceToShape,
  ReduceGrad: lowerReduceGrad,
  SGD: lowerSgd,
  Adam: lowerAdam,
  ReluGrad: (e, n) => void e.one('Where', [e.one('Greater', [n.inputs[1], e.f32(0)]), n.inputs[0], e.f32(0)], {}, n.outputs[0]),
  ClipGrad: (e, n) => {
    const [dy, x, lo0, hi0] = n.inputs;
    const lo = lo0 || e.f32(n.attrs.min ? attrFloat(n, 'min', -Infinity) : -3.4e38);
    const hi = hi0 || e.f32(n.attrs.max ? attrFloat(n, 'max', Infinity) : 3.4e38);
    e.one('Where', [e.one('And', [e.one('GreaterOrEqual', [x, lo]), e.one('LessOrEqual', [x, hi])]), dy, e.f32(0)], {}, n.outputs[0]);
  },
  LeakyReluGrad: lowerLeakyReluGrad,
  HardSigmoidGrad: lowerHardSigmoidGrad,
  HardSwishGrad: lowerHardSwishGrad,
  GeluGrad: lowerGeluGrad,
  ErfGrad: lowerErfGrad,
  SoftplusGrad: lowerSoftplusGrad,
  SigmoidGrad: (e, n) => void e.one('Mul', [n.inputs[0], e.one('Mul', [n.inputs[1], e.one('Sub', [e.f32(1), n.inputs[1]])])], {}, n.outputs[0]),
  TanhGrad: (e, n) => void e.one('Mul', [n.inputs[0], e.one('Sub', [e.f32(1), e.one('Mul', [n.inputs[1], n.inputs[1]])])], {}, n.outputs[0]),
  SoftmaxGrad: (e, n) => {
    const [dy, y] = n.inputs;
    const axis = normAxis(attrInt(n, 'axis', -1), e.dims(dy).length);
    e.one('Mul', [y, e.one('Sub', [dy, e.reduceSum(e.one('Mul', [dy, y]), [axis], true)])], {}, n.outputs[0]);
  },
  LogSoftmaxGrad: (e, n) => {
    const [dy, y] = n.inputs;
    const axis = normAxis(attrInt(n, 'axis', -1), e.dims(dy).length);
    e.one('Sub', [dy, e.one('Mul', [e.one('Exp', [y]), e.reduceSum(dy, [axis], true)])], {}, n.outputs[0]);
  },
  DropoutGrad: (e, n) => {
    const [dy, mask, ratioV, trainingV] = n.inputs;
    const ratio = e.scalar(ratioV, attrFloat(n, 'ratio', 0.5));
    const training = trainingV ? e.scalar(trainingV, 0) !== 0 : false;
    const scale = training && ratio < 1 ? 1 / (1 - ratio) : 1;
    e.one('Where', [mask, e.one('Mul', [dy, e.f32(scale)]), e.f32(0)], {}, n.outputs[0]);
  },
  SoftmaxCrossEntropy: (e, n) => {
    const d = e.dims(n.inputs[0]), C = d[d.length - 1];
    e.one('SoftmaxCrossEntropyLoss', [e.reshape(n.inputs[0], [-1, C]), e.reshape(n.inputs[1], [-1])], { reduction: A.string('mean') }, n.outputs[0]);
  },
  SoftmaxCrossEntropyGrad: (e, n) => {
    const [dl, logits, labels] = n.inputs;
    const d = e.dims(logits), C = d[d.length - 1], rows = numel(d) / C;
    const sm = e.one('Softmax', [e.reshape(logits, [-1, C])], { axis: A.int(-1) });
    const oh = e.one('OneHot', [e.reshape(labels, [-1]), e.i64([C], true), e.cast(e.i64([0, 1]), ONNX_FLOAT)], { axis: A.int(-1) });
    e.reshape(e.one('Mul', [e.one('Sub', [sm, oh]), e.one('Div', [dl, e.f32(rows)])]), d, n.outputs[0]);
  },
  MatMulT: (e, n) => {
    const tr = (v: string): string => {
      const r = e.dims(v).length;
      const perm = Array.from({ length: r }, (_, i) => i);
      [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
      return e.transpose(v, perm);
    };
    const [a, b] = n.inputs;
    e.one('MatMul', [attrInt(n, 'transA', 0) ? tr(a) : a, attrInt(n, 'transB', 0) ? tr(b) : b], {}, n.outputs[0]);
  },
};

const normAxis = (a: number, rank: number): number => (a < 0 ? a + rank : a);

function lower(e: Emitter, n: Node): void {
  const own = !n.domain || n.domain === 'ai.onnx';
  const f = Object.prototype.hasOwnProperty.call(LOWERINGS, n.opType) ? LOWERINGS[n.opType] : undefined;
  if (f && (!own || n.opType === 'BatchNormalization')) f(e, n);
  else if (own) e.nodes.push(n);
  else throw new ModelError(`${n.id}: operator ${n.domain}::${n.opType} has no ONNX decomposition; the step cannot be exported as ONNX (export it as C instead)`);
}

export function onnxStepModel(r: CompileResult, values: Map<string, Tensor>): Model {
  const tg = r.program.tg;
  const g = tg.graph;
  const srcOpset = tg.opsets[''] ?? 13;
  const e = createEmitter(values, Math.max(17, srcOpset), srcOpset);
  for (const n of r.program.order) lower(e, n);
  const { nodes, inits } = e;
  let uid = 0;
  // Graph inputs: batch, trainable parameters, optimizer state, running statistics; initializers: the rest.
  const carried: [string, string][] = [...tg.updated, ...tg.state.map((s): [string, string] => [s.name, s.next]), ...tg.bufferUpdates];
  const inputs = [...tg.dataInputs, ...carried.map(([v]) => v)];
  const inputSet = new Set(inputs);
  const produced = new Set(nodes.flatMap((x) => x.outputs));
  for (const x of nodes) for (const v of x.inputs) {
    if (!v || produced.has(v) || inputSet.has(v) || inits.has(v)) continue;
    const t = values.get(v);
    if (!t) throw new ModelError(`the ONNX step reads "${v}", which has no value`);
    inits.set(v, t);
  }
  // Outputs: loss, then updated parameters, state and statistics under their own names.
  const outputs = [tg.loss.loss];
  for (const [p, v] of carried) {
    const name = updatedName(p);
    nodes.push({ id: `pe_onnx/out_${uid++}`, name: '', opType: 'Identity', domain: '', inputs: [v], outputs: [name], attrs: {}, layer: '' });
    outputs.push(name);
  }
  const valuesMap = new Map<string, Value>();
  const typeOf = (v: string, t: Tensor | undefined): Value => ({ name: v, type: t ? { dtype: t.dtype, shape: t.dims.slice() } : null });
  for (const v of inputs) valuesMap.set(v, typeOf(v, values.get(v)));
  valuesMap.set(tg.loss.loss, typeOf(tg.loss.loss, values.get(tg.loss.loss)));
  for (const [p] of carried) valuesMap.set(updatedName(p), typeOf(updatedName(p), values.get(p)));
  const graph: Graph = {
    name: `${g.name || 'model'}_training_step`, nodes, values: valuesMap, inputs, outputs,
    initializers: new Map([...inits].map(([k, t]) => [k, tensorToInitializer(k, t)])),
  };
  return {
    path: '', irVersion: 8, opsets: { '': e.opset }, producerName: 'pockengine export', producerVersion: '1', modelVersion: 1,
    docString: 'one training step: inputs batch, trainable parameters, optimizer state, BatchNorm running statistics; outputs loss and updated values (<name>.updated)', metadata: {},
    graph, warnings: [],
  };
}

export function exportOnnxStep(r: CompileResult, values: Map<string, Tensor>): Uint8Array {
  return encodeModel(onnxStepModel(r, values));
}
