// A LLaMA-2-shaped decoder as an ONNX graph whose weights are external data that is never written: the
// way to prove that the importer, the views and the CLI scale to a 7B model without 13 GB on disk.
//
// Structure and names follow Meta's reference model as PyTorch exports it (see the tiny_llama fixture):
// tok_embeddings -> 32 x (attention_norm, attention{wq,wk,wv,wo} with rotary, ffn_norm,
// feed_forward{w1,w2,w3} SiLU-gated) -> norm -> output. RMSNorm is exported as Pow/ReduceMean/Add/Sqrt/Div/
// Mul, linear layers as Transpose(weight) + MatMul. Batch and sequence are the symbolic dims 'batch' and
// 'seq'; rotary angles and the causal mask are computed from the sequence length (Shape/Gather/Range) so
// the graph works for any length, where the fixed-size fixture folds them into Constants.

import type { Model } from '../ir/graph';
import type { DType } from '../ir/dtype';
import type { Dim } from '../ir/shape';
import { dtypeBits } from '../ir/dtype';
import { GraphBuilder, scalar, vector } from './builder';
import { tensor } from '../ir/tensor';

export interface LlamaOptions {
  layers: number;
  /** Hidden size (model dim). */
  dim: number;
  heads: number;
  /** Hidden size of the SiLU-gated MLP. */
  ffnDim: number;
  vocab: number;
  /** Weight and activation type; float16 is how LLaMA-2 checkpoints are distributed. */
  dtype: 'float16' | 'float32';
  normEps: number;
  ropeTheta: number;
  /** External-data file name, relative to the model file; it is never written. */
  weightsLocation: string;
}

/** LLaMA-2-7B: 6,738,415,616 parameters, 13.48 GB as float16 (26.95 GB as float32). */
export const LLAMA2_7B: LlamaOptions = {
  layers: 32, dim: 4096, heads: 32, ffnDim: 11008, vocab: 32000, dtype: 'float16', normEps: 1e-5, ropeTheta: 10000,
  weightsLocation: 'llama-2-7b.weights.bin',
};

const INT64_MAX = 9223372036854775807n;

export function buildLlama(partial: Partial<LlamaOptions> = {}): Model {
  const o: LlamaOptions = { ...LLAMA2_7B, ...partial };
  if (o.dim % o.heads !== 0) throw new Error(`dim ${o.dim} is not a multiple of heads ${o.heads}`);
  const hd = o.dim / o.heads;
  if (hd % 2 !== 0) throw new Error(`head dim ${hd} must be even for rotary embedding`);
  const dt: DType = o.dtype;
  const b = new GraphBuilder();
  let offset = 0;
  const weight = (name: string, dims: number[]): string => {
    const length = (dims.reduce((a, d) => a * d, 1) * dtypeBits(dt)) / 8;
    b.externalParam(name, dt, dims, o.weightsLocation, offset, length);
    offset += length;
    return name;
  };
  const i64 = (v: number | bigint): ReturnType<typeof scalar> => tensor('int64', [], BigInt64Array.from([BigInt(v)]));
  const i64v = (vs: (number | bigint)[]): ReturnType<typeof vector> => tensor('int64', [vs.length], BigInt64Array.from(vs.map((v) => BigInt(v))));

  const B = 'batch', S = 'seq';
  const ids = b.input('input_ids', 'int64', [B, S]);

  let x = b.op('/tok_embeddings', 'Gather', [weight('tok_embeddings.weight', [o.vocab, o.dim]), ids], dt, [B, S, o.dim]);

  // Positions 0..seq-1, shared by the rotary angles and the causal mask.
  const shape = b.op('', 'Shape', [ids], 'int64', [2]);
  const seqLen = b.op('', 'Gather', [shape, b.constant('', i64(1))], 'int64', [], { axis: 0 });
  const pos = b.op('', 'Range', [b.constant('', i64(0)), seqLen, b.constant('', i64(1))], 'int64', [S]);
  const posF = b.op('', 'Cast', [pos], dt, [S], { to: dt === 'float16' ? 10 : 1 });
  const posCol = b.op('', 'Unsqueeze', [posF, b.constant('', i64v([1]))], dt, [S, 1]);
  // rotate_half layout: the angle of pair i is repeated in both halves of the head dimension.
  const invFreq = Array.from({ length: hd }, (_, j) => 1 / Math.pow(o.ropeTheta, (2 * (j % (hd / 2))) / hd));
  const angles = b.op('', 'Mul', [posCol, b.constant('', tensor(dt, [1, hd], vector(dt, invFreq).data))], dt, [S, hd]);
  const cos = b.op('', 'Cos', [angles], dt, [S, hd]);
  const sin = b.op('', 'Sin', [angles], dt, [S, hd]);
  const row = b.op('', 'Unsqueeze', [pos, b.constant('', i64v([0]))], 'int64', [1, S]);
  const col = b.op('', 'Unsqueeze', [pos, b.constant('', i64v([1]))], 'int64', [S, 1]);
  const mask = b.op('', 'Greater', [row, col], 'bool', [S, S]); // true above the diagonal: future positions

  const rmsNorm = (scope: string, input: string, w: string): string => {
    const sc = `/${scope}`;
    const pow = b.op(sc, 'Pow', [input, b.constant(sc, scalar(dt, 2))], dt, [B, S, o.dim]);
    const mean = b.op(sc, 'ReduceMean', [pow], dt, [B, S, 1], { axes: [-1], keepdims: 1 });
    const add = b.op(sc, 'Add', [mean, b.constant(sc, scalar(dt, o.normEps))], dt, [B, S, 1]);
    const sqrt = b.op(sc, 'Sqrt', [add], dt, [B, S, 1]);
    const inv = b.op(sc, 'Div', [b.constant(sc, scalar(dt, 1)), sqrt], dt, [B, S, 1]);
    const normed = b.op(sc, 'Mul', [input, inv], dt, [B, S, o.dim]);
    return b.op(sc, 'Mul', [normed, weight(w, [o.dim])], dt, [B, S, o.dim]);
  };
  const linear = (scope: string, input: string, inDim: number, outDim: number, lead: Dim[]): string => {
    // Module "layers.3.attention.wq" has exporter scope "/layers.3/attention/wq".
    const sc = `/${scope.replace(/\./g, '/').replace(/\/(\d+)\//g, '.$1/')}`;
    const w = weight(`${scope}.weight`, [outDim, inDim]);
    const wt = b.op(sc, 'Transpose', [w], dt, [inDim, outDim], { perm: [1, 0] });
    return b.op(sc, 'MatMul', [input, wt], dt, [...lead, outDim]);
  };
  const rotary = (sc: string, t: string): string => {
    const shp: Dim[] = [B, o.heads, S, hd];
    const a = b.op(sc, 'Mul', [t, cos], dt, shp);
    const sl = (start: number | bigint, end: number | bigint): string =>
      b.op(sc, 'Slice', [t, b.constant(sc, i64v([start])), b.constant(sc, i64v([end])), b.constant(sc, i64v([3])), b.constant(sc, i64v([1]))], dt, [B, o.heads, S, hd / 2]);
    const neg = b.op(sc, 'Neg', [sl(hd / 2, INT64_MAX)], dt, [B, o.heads, S, hd / 2]);
    const rot = b.op(sc, 'Concat', [neg, sl(0, hd / 2)], dt, shp, { axis: -1 });
    return b.op(sc, 'Add', [a, b.op(sc, 'Mul', [rot, sin], dt, shp)], dt, shp);
  };

  for (let l = 0; l < o.layers; l++) {
    const p = `layers.${l}`;
    const sc = `/${p}/attention`;
    const h = rmsNorm(`${p}/attention_norm`, x, `${p}.attention_norm.weight`);
    const heads = (proj: string): string => {
      const y = linear(`${p}.attention.${proj}`, h, o.dim, o.dim, [B, S]);
      const r = b.op(sc, 'Reshape', [y, b.constant(sc, i64v([0, 0, o.heads, hd]))], dt, [B, S, o.heads, hd]);
      return b.op(sc, 'Transpose', [r], dt, [B, o.heads, S, hd], { perm: [0, 2, 1, 3] });
    };
    const q = heads('wq'), k = heads('wk'), v = heads('wv');
    const qr = rotary(sc, q), kr = rotary(sc, k);
    const kt = b.op(sc, 'Transpose', [kr], dt, [B, o.heads, hd, S], { perm: [0, 1, 3, 2] });
    const scores = b.op(sc, 'MatMul', [qr, kt], dt, [B, o.heads, S, S]);
    const scaled = b.op(sc, 'Div', [scores, b.constant(sc, scalar(dt, Math.sqrt(hd)))], dt, [B, o.heads, S, S]);
    const masked = b.op(sc, 'Where', [mask, b.constant(sc, scalar(dt, -3.4028234663852886e38)), scaled], dt, [B, o.heads, S, S]);
    const probs = b.op(sc, 'Softmax', [masked], dt, [B, o.heads, S, S], { axis: -1 });
    const ctx = b.op(sc, 'MatMul', [probs, v], dt, [B, o.heads, S, hd]);
    const ctxT = b.op(sc, 'Transpose', [ctx], dt, [B, S, o.heads, hd], { perm: [0, 2, 1, 3] });
    const merged = b.op(sc, 'Reshape', [ctxT, b.constant(sc, i64v([0, 0, o.dim]))], dt, [B, S, o.dim]);
    const attn = linear(`${p}.attention.wo`, merged, o.dim, o.dim, [B, S]);
    const res = b.op(`/${p}`, 'Add', [x, attn], dt, [B, S, o.dim]);

    const f = rmsNorm(`${p}/ffn_norm`, res, `${p}.ffn_norm.weight`);
    const fsc = `/${p}/feed_forward`;
    const g = linear(`${p}.feed_forward.w1`, f, o.dim, o.ffnDim, [B, S]);
    const silu = b.op(fsc, 'Mul', [g, b.op(fsc, 'Sigmoid', [g], dt, [B, S, o.ffnDim])], dt, [B, S, o.ffnDim]);
    const up = linear(`${p}.feed_forward.w3`, f, o.dim, o.ffnDim, [B, S]);
    const gated = b.op(fsc, 'Mul', [silu, up], dt, [B, S, o.ffnDim]);
    const down = linear(`${p}.feed_forward.w2`, gated, o.ffnDim, o.dim, [B, S]);
    x = b.op(`/${p}`, 'Add', [res, down], dt, [B, S, o.dim]);
  }
  const out = rmsNorm('norm', x, 'norm.weight');
  const logits = linear('output', out, o.dim, o.vocab, [B, S]);
  // Name the output "logits" like the fixture: rename the last node's output.
  const last = b.graph.nodes[b.graph.nodes.length - 1];
  const v = b.graph.values.get(logits)!;
  b.graph.values.delete(logits);
  b.graph.values.set('logits', { ...v, name: 'logits' });
  last.outputs[0] = 'logits';
  b.output('logits');

  return b.model({
    producerName: 'pockengine-sample',
    opset: 13,
    docString: `LLaMA-2-shaped decoder (${o.layers} layers, dim ${o.dim}, ${o.heads} heads, MLP ${o.ffnDim}, vocab ${o.vocab}, ${dt}); weights in "${o.weightsLocation}", which is not written.`,
    metadata: { 'pockengine.sample': 'llama', 'pockengine.weightsBytes': String(offset) },
  });
}
