// Convolution gradients in standard ONNX (1 to 3 spatial dims, any group):
//   ConvGradInput  -> ConvTranspose with the forward's geometry; output_padding fixes the exact size.
//   ConvGradWeight -> one Conv in which the batch is the reduced channel axis: the input's channels of
//     each group become the batch ([Cg, G·N, ...]), dY becomes the kernel ([M, N, ...]), strides and
//     dilations swap, group G; then Transpose to [M, Cg, ...] and Slice to the kernel size. Under a
//     sparse `channels` k only the groups holding the first k output channels are convolved.
//   ConvGradBias   -> ReduceSum over all axes but 1.

import type { Node } from '../../ir/graph';
import { attrInt, attrInts } from '../../ir/graph';
import { ModelError } from '../../onnx/errors';
import { convGeometry } from '../../runtime/im2col';
import { convAttrs } from '../../runtime/kernels/conv';
import { A, type Emitter } from './emitter';

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => i + from);

export function lowerConvGradInput(e: Emitter, n: Node): void {
  const [dyV, wV] = n.inputs, out = n.outputs[0];
  const x = e.dims(out), w = e.dims(wV), dy = e.dims(dyV);
  const a = convAttrs(n, x.length - 2);
  const kernel = attrInts(n, 'kernel_shape') ?? w.slice(2);
  const geo = convGeometry(x.slice(2), kernel, a);
  const outPad = x.slice(2).map((s, k) => s - ((dy[k + 2] - 1) * geo.strides[k] - geo.padsBegin[k] - geo.padsEnd[k] + (kernel[k] - 1) * geo.dilations[k] + 1));
  e.one('ConvTranspose', [dyV, wV], {
    strides: A.ints(geo.strides), dilations: A.ints(geo.dilations), pads: A.ints([...geo.padsBegin, ...geo.padsEnd]), group: A.int(a.group),
    kernel_shape: A.ints(kernel), output_padding: A.ints(outPad),
  }, out);
}

export function lowerConvGradWeight(e: Emitter, n: Node): void {
  const [xV, dyV, wV] = n.inputs, out = n.outputs[0];
  const x = e.dims(xV), w = e.dims(wV);
  const S = x.length - 2;
  if (S < 1 || S > 3) throw new ModelError(`${n.id}: a convolution over ${S} spatial dims has no ONNX export (1 to 3 are supported)`);
  const a = convAttrs(n, S);
  const kernel = attrInts(n, 'kernel_shape') ?? w.slice(2);
  const geo = convGeometry(x.slice(2), kernel, a);
  const [N, C] = x, M = w[0], G = a.group;
  const Cg = C / G, Mg = M / G;
  if (!Number.isInteger(Cg) || !Number.isInteger(Mg) || w[1] !== Cg) throw new ModelError(`${n.id}: weight [${w}] does not fit input [${x}] with group ${G}`);
  const K = Math.min(n.attrs.channels ? attrInt(n, 'channels', M) : M, M);
  // Groups that hold the first K output channels: only their inputs and dY channels take part.
  const Gk = Math.ceil(K / Mg);
  const xs = Gk < G ? e.slice(xV, [0], [Gk * Cg], [1]) : xV;
  const dys = Gk < G ? e.slice(dyV, [0], [Gk * Mg], [1]) : dyV;
  const sp = x.slice(2);
  const swap = [1, 0, ...range(S, 2)];
  const xt = Gk === 1 ? e.transpose(xs, swap) // [Cg, N, ...]
    : e.reshape(e.transpose(e.reshape(xs, [N, Gk, Cg, ...sp]), [2, 1, 0, ...range(S, 3)]), [Cg, Gk * N, ...sp]); // [Cg, Gk·N, ...], channel g·N + n
  const dyt = e.transpose(dys, swap); // [Gk·Mg, N, ...]: output channel m of group m / Mg
  const c = e.one('Conv', [xt, dyt], {
    strides: A.ints(geo.dilations), dilations: A.ints(geo.strides), pads: A.ints([...geo.padsBegin, ...geo.padsEnd]), group: A.int(Gk),
  }); // [Cg, Gk·Mg, K'...] with K' >= kernel
  e.slice(e.transpose(c, swap), [0, ...kernel.map(() => 0)], [K, ...kernel], [0, ...range(S, 2)], undefined, out);
}

export function lowerConvGradBias(e: Emitter, n: Node): void {
  const d = e.dims(n.inputs[0]);
  e.reduceSum(n.inputs[0], [0, ...range(d.length - 2, 2)], false, n.outputs[0]);
}
