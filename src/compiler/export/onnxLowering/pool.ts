// Pooling gradients in standard ONNX:
//   MaxPoolGrad -> MaxPool's Indices + ScatterElements(reduction add) of dY into zeros.
//   AveragePoolGrad -> dY divided by each window's count (a constant from the forward kernel's own window
//     walk, so count_include_pad, ceil_mode and auto_pad mean what they mean there), then ConvTranspose of
//     every plane by a kernel of ones: each window's share lands on its inputs, padding is cropped away.
//   GlobalAveragePoolGrad -> dY / spatial size, Expand.

import type { Tensor } from '../../ir/tensor';
import type { AttrValue, Node } from '../../ir/graph';
import { attrInt } from '../../ir/graph';
import { ModelError } from '../../onnx/errors';
import { forEachWindow, lift, poolGeometry } from '../../runtime/kernels/pool';
import { A, numel, type Emitter } from './emitter';

export function lowerMaxPoolGrad(e: Emitter, n: Node): void {
  const [dy, xV] = n.inputs;
  const x = e.dims(xV);
  const attrs: Record<string, AttrValue> = {};
  for (const k of ['kernel_shape', 'strides', 'pads', 'dilations', 'ceil_mode', 'auto_pad']) if (n.attrs[k]) attrs[k] = n.attrs[k];
  const [, idx] = e.add('MaxPool', [xV], attrs, 2);
  const sc = e.one('ScatterElements', [e.zeros([numel(x)]), e.reshape(idx, [-1]), e.reshape(dy, [-1])], { axis: A.int(0), reduction: A.string('add') });
  e.reshape(sc, x, n.outputs[0]);
}

export function lowerAveragePoolGrad(e: Emitter, n: Node): void {
  const dy = n.inputs[0], out = n.outputs[0];
  const x = e.dims(out), S = x.length - 2;
  if (S < 1 || S > 3) throw new ModelError(`${n.id}: average pooling over ${S} spatial dims has no ONNX export (1 to 3 are supported)`);
  const geo = poolGeometry(n, x.slice(2));
  const includePad = attrInt(n, 'count_include_pad', 0) !== 0;
  // Windows without any input element spread nowhere (all their taps are cropped), so 1 stands in for 0.
  const counts = new Float32Array(numel(geo.outSpatial));
  forEachWindow(lift(geo), (o, ins, padded) => { counts[o] = (includePad ? padded : ins.length) || 1; });
  const count = e.tensor({ dtype: 'float32', dims: geo.outSpatial.slice(), data: counts } as Tensor, 'avgpool_count');
  const planes = x[0] * x[1];
  const share = e.one('Div', [e.reshape(dy, [planes, 1, ...geo.outSpatial]), count]);
  const ones = e.tensor({ dtype: 'float32', dims: [1, 1, ...geo.kernel], data: new Float32Array(numel(geo.kernel)).fill(1) } as Tensor, 'avgpool_ones');
  // The transposed convolution spans s·(O − 1) + effective kernel positions from −padBegin; crop to X.
  const padsEnd: number[] = [], outPad: number[] = [];
  for (let i = 0; i < S; i++) {
    const span = geo.strides[i] * (geo.outSpatial[i] - 1) + (geo.kernel[i] - 1) * geo.dilations[i] + 1;
    const crop = span - geo.padsBegin[i] - x[i + 2];
    padsEnd.push(Math.max(crop, 0));
    outPad.push(Math.max(-crop, 0));
  }
  const dx = e.one('ConvTranspose', [share, ones], {
    strides: A.ints(geo.strides), dilations: A.ints(geo.dilations), pads: A.ints([...geo.padsBegin, ...padsEnd]),
    kernel_shape: A.ints(geo.kernel), output_padding: A.ints(outPad),
  });
  e.reshape(dx, x, out);
}

export function lowerGlobalAveragePoolGrad(e: Emitter, n: Node): void {
  const x = e.dims(n.outputs[0]);
  e.one('Expand', [e.one('Div', [n.inputs[0], e.f32(numel(x.slice(2)))]), e.i64(x)], {}, n.outputs[0]);
}
