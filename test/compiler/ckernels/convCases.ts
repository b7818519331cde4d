// Convolution family cases: forward, grad input, grad weight (full and first-k channels) and grad bias,
// for plain, strided, padded (asymmetric), dilated, grouped, depthwise, channel-multiplier and 1×1 shapes.

import { attrs as A } from '../../../src/compiler/train/builder';
import { conv2dInit, conv2dWorkspace, type Conv2dParams } from '../../../src/compiler/codegen/kernels/conv';
import { convGeometry } from '../../../src/compiler/runtime/im2col';
import { f32, I64, oracle, reseed, U, type CCase } from './harness';

interface Shape { N: number; C: number; H: number; W: number; M: number; k: [number, number]; s?: [number, number]; p?: [number, number, number, number]; d?: [number, number]; g?: number; mlimit?: number; bias?: boolean }

const shapes: Shape[] = [
  { N: 2, C: 3, H: 9, W: 9, M: 5, k: [3, 3], s: [2, 2], p: [1, 1, 1, 1], bias: true, mlimit: 2 },
  { N: 1, C: 4, H: 8, W: 11, M: 6, k: [3, 2], s: [1, 2], p: [1, 0, 0, 1], d: [2, 1], g: 2, mlimit: 4 },
  { N: 2, C: 6, H: 7, W: 7, M: 6, k: [3, 3], s: [2, 2], p: [1, 1, 1, 1], g: 6, bias: true, mlimit: 3 },
  { N: 1, C: 5, H: 10, W: 9, M: 5, k: [3, 3], p: [2, 2, 2, 2], d: [2, 2], g: 5 },
  { N: 2, C: 8, H: 7, W: 5, M: 5, k: [1, 1], bias: true, mlimit: 3 },
  { N: 1, C: 3, H: 6, W: 6, M: 6, k: [3, 3], p: [1, 1, 1, 1], g: 3 },
  // Depthwise off the 3×3 fast path: a 2×5 kernel, column stride 3, asymmetric pads.
  { N: 2, C: 4, H: 9, W: 14, M: 4, k: [2, 5], s: [2, 3], p: [0, 2, 1, 1], d: [1, 2], g: 4, mlimit: 2 },
  // MobileNetV2-like: stem, expansion 1×1, depthwise, projection (small spatial size to stay fast).
  { N: 1, C: 3, H: 33, W: 33, M: 32, k: [3, 3], s: [2, 2], p: [1, 1, 1, 1] },
  { N: 1, C: 24, H: 14, W: 14, M: 144, k: [1, 1] },
  { N: 1, C: 144, H: 14, W: 14, M: 144, k: [3, 3], s: [2, 2], p: [1, 1, 1, 1], g: 144 },
  { N: 1, C: 1, H: 1, W: 40, M: 3, k: [1, 5], p: [0, 2, 0, 2] },
];

export function cases(): CCase[] {
  reseed(22);
  const out: CCase[] = [];
  for (const s of shapes) {
    const g = s.g ?? 1, st = s.s ?? [1, 1], pads = s.p ?? [0, 0, 0, 0], dil = s.d ?? [1, 1];
    const geo = convGeometry([s.H, s.W], s.k, { strides: st, pads, dilations: dil });
    const [OH, OW] = geo.outSpatial;
    const p: Conv2dParams = { N: s.N, C: s.C, H: s.H, W: s.W, M: s.M, KH: s.k[0], KW: s.k[1], OH, OW, sh: st[0], sw: st[1], ph: pads[0], pw: pads[1], dh: dil[0], dw: dil[1], group: g };
    const attrs = { strides: A.ints(st), pads: A.ints(pads), dilations: A.ints(dil), group: A.int(g), kernel_shape: A.ints(s.k) };
    const x = U([s.N, s.C, s.H, s.W]), w = U([s.M, s.C / g, ...s.k]), b = s.bias ? U([s.M]) : undefined;
    const dy = U([s.N, s.M, OH, OW]);
    const y = oracle('Conv', [x, w, b], attrs)[0];
    const dx = oracle('ConvGradInput', [dy, w, I64([s.N, s.C, s.H, s.W])], attrs, { domain: 'pockengine' })[0];
    const dw = oracle('ConvGradWeight', [x, dy, w], attrs, { domain: 'pockengine' })[0];
    const db = oracle('ConvGradBias', [dy], {}, { domain: 'pockengine' })[0];
    const name = `conv N${s.N} C${s.C} ${s.H}x${s.W} M${s.M} k${s.k} s${st} p${pads} d${dil} g${g}`;
    const rows = (s.C / g) * s.k[0] * s.k[1];
    const outputs: CCase['outputs'] = { y: { expect: f32(y) }, dx: { expect: f32(dx) }, dw: { expect: f32(dw) }, db: { expect: f32(db) } };
    let extra = '';
    if (s.mlimit) {
      // The sparse update: only the first mlimit output channels' weight gradient.
      outputs.dws = { expect: f32(dw), prefix: s.mlimit * rows };
      extra = `\n    pe_conv2d_grad_weight(&p, x, dy, dws, ${s.mlimit}, ws);`;
    }
    out.push({
      name, ws: conv2dWorkspace(p),
      inputs: { x: f32(x), w: f32(w), dy: f32(dy), ...(b ? { b: f32(b) } : {}) },
      outputs,
      code: `static const pe_conv2d_t p = ${conv2dInit(p)};
    pe_conv2d(&p, x, w, ${b ? 'b' : 'NULL'}, y, ws);
    pe_conv2d_grad_input(&p, dy, w, dx, ws);
    pe_conv2d_grad_weight(&p, x, dy, dw, ${s.M}, ws);
    pe_conv2d_grad_bias(${s.N}, ${s.M}, ${OH * OW}, dy, db);${extra}`,
    });
  }
  return out;
}
