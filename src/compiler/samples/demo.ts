// The demo model the product ships: a small MobileNetV2-style classifier (inverted residual blocks with
// depthwise convolutions, BatchNormalization in training mode, ReLU6 as Clip), exported the way PyTorch
// 1.13 exports torchvision's MobileNetV2 in train() mode at opset 13, so it exercises the same code paths
// as the fixtures while being small enough to train in seconds. Weights come from a fixed seed.

import type { Model } from '../ir/graph';
import { tensor, type Tensor } from '../ir/tensor';
import { GraphBuilder, scalar, seededRandom } from './builder';

export interface DemoOptions {
  batch: number;
  imageSize: number;
  classes: number;
  seed: number;
}

export const DEMO_DEFAULTS: DemoOptions = { batch: 8, imageSize: 32, classes: 10, seed: 20260401 };

/** torchvision's InvertedResidual settings, scaled down: [expand ratio t, output channels, stride]. */
const BLOCKS: [number, number, number][] = [
  [1, 16, 1],
  [6, 24, 2],
  [6, 24, 1],
  [6, 32, 2],
  [6, 32, 1],
  [6, 64, 2],
  [6, 64, 1],
];
const STEM = 16;
const HEAD = 256;

export interface DemoSample {
  model: Model;
  /** One batch: `input` float32 [batch, 3, size, size]. */
  input: Tensor;
  /** Its labels: int64 [batch], in 0..classes-1. */
  labels: Tensor;
}

export function buildDemo(partial: Partial<DemoOptions> = {}): DemoSample {
  const o: DemoOptions = { ...DEMO_DEFAULTS, ...partial };
  const rand = seededRandom(o.seed);
  const uniform = (dims: number[], bound: number): Tensor => {
    const t = tensor('float32', dims);
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] = (rand() * 2 - 1) * bound;
    return t;
  };
  const filled = (n: number, v: number): Tensor => tensor('float32', [n], new Float32Array(n).fill(v));
  const b = new GraphBuilder();
  const N = o.batch;

  let x = b.input('input', 'float32', [N, 3, o.imageSize, o.imageSize]);
  let c = 3;
  let hw = o.imageSize;

  /** Module path "features.2.conv.0" -> exporter scope "/features/features.2/conv/conv.0". */
  const scopeOf = (path: string): string => {
    // One segment per module; an indexed child is spelled with its parent's segment as prefix.
    const segs: string[] = [];
    for (const p of path.split('.')) segs.push(/^\d+$/.test(p) && segs.length ? `${segs[segs.length - 1]}.${p}` : p);
    return '/' + segs.join('/');
  };

  const conv = (path: string, cout: number, k: number, stride: number, groups: number): void => {
    const fanIn = (c / groups) * k * k;
    const w = b.param(`${path}.weight`, uniform([cout, c / groups, k, k], Math.sqrt(6 / fanIn)));
    const pad = (k - 1) / 2;
    hw = Math.floor((hw + 2 * pad - k) / stride) + 1;
    x = b.op(scopeOf(path), 'Conv', [x, w], 'float32', [N, cout, hw, hw], {
      dilations: [1, 1], group: groups, kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [stride, stride],
    });
    c = cout;
  };
  // Training-mode BatchNormalization at opset 13: BN-9 with all five outputs (y, running mean and var,
  // saved mean and var), as PyTorch exports a module in train().
  const bn = (path: string): void => {
    const ins = [x, b.param(`${path}.weight`, filled(c, 1)), b.param(`${path}.bias`, filled(c, 0)),
      b.param(`${path}.running_mean`, filled(c, 0)), b.param(`${path}.running_var`, filled(c, 1))];
    const vec: ['float32', number[]] = ['float32', [c]];
    x = b.node(scopeOf(path), 'BatchNormalization', ins, [['float32', [N, c, hw, hw]], vec, vec, vec, vec], {
      epsilon: { float: 1e-5 }, momentum: { float: 0.9 },
    })[0];
  };
  const relu6 = (path: string): void => {
    const sc = scopeOf(path);
    x = b.op(sc, 'Clip', [x, b.constant(sc, scalar('float32', 0)), b.constant(sc, scalar('float32', 6))], 'float32', [N, c, hw, hw]);
  };
  const convBnRelu = (path: string, cout: number, k: number, stride: number, groups: number): void => {
    conv(`${path}.0`, cout, k, stride, groups);
    bn(`${path}.1`);
    relu6(`${path}.2`);
  };

  convBnRelu('features.0', STEM, 3, 1, 1);
  BLOCKS.forEach(([t, cout, stride], i) => {
    const p = `features.${i + 1}`;
    const inp = x;
    const residual = stride === 1 && c === cout;
    const hidden = c * t;
    let k = 0;
    if (t !== 1) convBnRelu(`${p}.conv.${k++}`, hidden, 1, 1, 1);
    convBnRelu(`${p}.conv.${k++}`, hidden, 3, stride, hidden);
    conv(`${p}.conv.${k++}`, cout, 1, 1, 1);
    bn(`${p}.conv.${k++}`);
    if (residual) x = b.op(scopeOf(p), 'Add', [inp, x], 'float32', [N, c, hw, hw]);
  });
  convBnRelu(`features.${BLOCKS.length + 1}`, HEAD, 1, 1, 1);

  x = b.op('', 'GlobalAveragePool', [x], 'float32', [N, c, 1, 1]);
  x = b.op('', 'Flatten', [x], 'float32', [N, c], { axis: 1 });
  const dsc = '/classifier/classifier.0';
  const ratio = b.constant(dsc, scalar('float32', 0));
  const training = b.constant(dsc, tensor('bool', [], new Uint8Array([1])));
  x = b.node(dsc, 'Dropout', [x, ratio, training], [['float32', [N, c]], ['bool', [N, c]]])[0];
  const bound = 1 / Math.sqrt(c);
  const w = b.param('classifier.1.weight', uniform([o.classes, c], bound));
  const bias = b.param('classifier.1.bias', uniform([o.classes], bound));
  const gemm = b.graph.nodes.length;
  b.op('/classifier/classifier.1', 'Gemm', [x, w, bias], 'float32', [N, o.classes], { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 });
  // The fixtures call the output "logits"; so does the demo.
  const node = b.graph.nodes[gemm];
  const v = b.graph.values.get(node.outputs[0])!;
  b.graph.values.delete(node.outputs[0]);
  node.outputs[0] = 'logits';
  b.graph.values.set('logits', { ...v, name: 'logits' });
  b.output('logits');

  const model = b.model({
    producerName: 'pockengine-sample',
    opset: 13,
    docString: `PockEngine demo: MobileNetV2-style classifier, input [${N},3,${o.imageSize},${o.imageSize}], ${o.classes} classes, seed ${o.seed}.`,
    metadata: { 'pockengine.sample': 'demo' },
  });

  // The batch: smooth random images (so convolutions see structure, not only noise) and random labels.
  const input = tensor('float32', [N, 3, o.imageSize, o.imageSize]);
  const d = input.data as Float32Array;
  const S = o.imageSize;
  for (let n = 0; n < N; n++) for (let ch = 0; ch < 3; ch++) {
    const fx = 1 + rand() * 3, fy = 1 + rand() * 3, ph = rand() * Math.PI * 2;
    for (let y = 0; y < S; y++) for (let xx = 0; xx < S; xx++) {
      d[((n * 3 + ch) * S + y) * S + xx] = Math.sin((fx * xx + fy * y) * (Math.PI / S) + ph) + (rand() - 0.5) * 0.2;
    }
  }
  input.name = 'input';
  const labels = tensor('int64', [N], BigInt64Array.from({ length: N }, () => BigInt(Math.floor(rand() * o.classes))));
  labels.name = 'labels';
  return { model, input, labels };
}
