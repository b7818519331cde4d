// Layer-level family cases: BatchNorm (train forward with running statistics, inference, backward with
// batch and frozen statistics), Max/Average/GlobalAverage pooling and gradients, Softmax/LogSoftmax and
// gradients, softmax cross-entropy and its gradient, ReduceSum/ReduceMean/ReduceToShape/ReduceGrad,
// Transpose, Gather and GatherGrad, SGD (plain, momentum, Nesterov, channel prefix) and Adam/AdamW.

import { attrs as A } from '../../../src/compiler/train/builder';
import { pool2dInit, type Pool2dParams } from '../../../src/compiler/codegen/kernels/pool';
import { boxArgs, broadcastArgs, reduceArgs, reduceWorkspace, transposeArgs } from '../../../src/compiler/codegen/kernels/reduce';
import { poolGeometry } from '../../../src/compiler/runtime/kernels/pool';
import type { Node } from '../../../src/compiler/ir/graph';
import { cf, f32, I64, oracle, rand, reseed, U, type CCase } from './harness';

const ints = (xs: number[]): string => `{${xs.join(', ')}}`;

export function cases(): CCase[] {
  reseed(44);
  const out: CCase[] = [];
  // BatchNorm
  for (const [N, C, H, W] of [[2, 5, 7, 3], [3, 16, 1, 1], [1, 8, 9, 9]]) {
    const S = H * W;
    const x = U([N, C, H, W], -2, 3), sc = U([C], 0.5, 1.5), bi = U([C]), rm = U([C]), rv = U([C], 0.5, 2), dy = U([N, C, H, W]);
    const [y, nrm, nrv, smean, svar] = oracle('BatchNormalization', [x, sc, bi, rm, rv], { epsilon: A.float(1e-5), momentum: A.float(0.9), training_mode: A.int(1) }, { outputs: 5, opset: 15 });
    const yi = oracle('BatchNormalization', [x, sc, bi, rm, rv], { epsilon: A.float(1e-5) }, { opset: 15 })[0];
    const [dx, ds, db] = oracle('BatchNormGrad', [dy, x, sc], { epsilon: A.float(1e-5) }, { domain: 'pockengine', outputs: 3 });
    const [fdx, fds, fdb] = oracle('BatchNormGrad', [dy, x, sc, rm, rv], { epsilon: A.float(1e-5), training_mode: A.int(0) }, { domain: 'pockengine', outputs: 3 });
    out.push({
      name: `BatchNorm [${N},${C},${H},${W}]`,
      inputs: { x: f32(x), sc: f32(sc), bi: f32(bi), rm0: f32(rm), rv0: f32(rv), dy: f32(dy) },
      outputs: {
        y: { expect: f32(y) }, rm: { expect: f32(nrm), init: f32(rm) }, rv: { expect: f32(nrv), init: f32(rv) }, sm: { expect: f32(smean) }, sv: { expect: f32(svar) },
        yi: { expect: f32(yi) }, dx: { expect: f32(dx) }, ds: { expect: f32(ds) }, db: { expect: f32(db) },
        fdx: { expect: f32(fdx) }, fds: { expect: f32(fds) }, fdb: { expect: f32(fdb) },
      },
      code: `pe_batchnorm_train(${N}, ${C}, ${S}, x, sc, bi, rm, rv, 0.9f, 1e-5f, y, sm, sv);
    pe_batchnorm_infer(${N}, ${C}, ${S}, x, sc, bi, rm0, rv0, 1e-5f, yi);
    pe_batchnorm_grad(${N}, ${C}, ${S}, dy, x, sc, 1e-5f, dx, ds, db);
    pe_batchnorm_grad_frozen(${N}, ${C}, ${S}, dy, x, sc, rm0, rv0, 1e-5f, fdx, fds, fdb);`,
    });
  }
  // Pools
  const pools: { k: number[]; s?: number[]; p?: number[]; d?: number[]; ceil?: number; inc?: number; H: number; W: number }[] = [
    { k: [3, 3], s: [2, 2], p: [1, 1, 1, 1], H: 9, W: 8 },
    { k: [2, 2], s: [2, 2], H: 7, W: 7, ceil: 1 },
    { k: [3, 2], s: [1, 2], p: [1, 0, 1, 1], d: [2, 1], H: 8, W: 9, inc: 1 },
    { k: [1, 3], p: [0, 1, 0, 1], H: 1, W: 11 },
  ];
  for (const pc of pools) {
    const N = 2, C = 3;
    const attrs = {
      kernel_shape: A.ints(pc.k), strides: A.ints(pc.s ?? [1, 1]), pads: A.ints(pc.p ?? [0, 0, 0, 0]),
      ceil_mode: A.int(pc.ceil ?? 0), count_include_pad: A.int(pc.inc ?? 0),
    };
    const maxAttrs = { ...attrs, dilations: A.ints(pc.d ?? [1, 1]) };
    const node = { attrs: maxAttrs } as unknown as Node;
    const geo = poolGeometry(node, [pc.H, pc.W]);
    const [OH, OW] = geo.outSpatial;
    const p: Pool2dParams = {
      planes: N * C, H: pc.H, W: pc.W, KH: pc.k[0], KW: pc.k[1], OH, OW, sh: geo.strides[0], sw: geo.strides[1],
      ph: geo.padsBegin[0], pw: geo.padsBegin[1], eh: geo.padsEnd[0], ew: geo.padsEnd[1], dh: geo.dilations[0], dw: geo.dilations[1],
    };
    // Distinct values: max ties would make the first-maximum rule depend on float rounding.
    const n = N * C * pc.H * pc.W;
    const perm = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [perm[i], perm[j]] = [perm[j], perm[i]]; }
    const x = { dtype: 'float32' as const, dims: [N, C, pc.H, pc.W], data: Float32Array.from(perm, (v) => (v - n / 2) * 0.01) };
    const dy = U([N, C, OH, OW]);
    const ym = oracle('MaxPool', [x], maxAttrs)[0];
    const dxm = oracle('MaxPoolGrad', [dy, x], maxAttrs, { domain: 'pockengine' })[0];
    const dil = pc.d !== undefined;
    const ya = dil ? undefined : oracle('AveragePool', [x], attrs)[0];
    const dxa = dil ? undefined : oracle('AveragePoolGrad', [dy, I64([N, C, pc.H, pc.W])], attrs, { domain: 'pockengine' })[0];
    out.push({
      name: `pool k${pc.k} s${pc.s ?? 1} p${pc.p ?? 0} d${pc.d ?? 1} ceil${pc.ceil ?? 0} inc${pc.inc ?? 0} ${pc.H}x${pc.W}`,
      inputs: { x: f32(x), dy: f32(dy) },
      outputs: { ym: { expect: f32(ym) }, dxm: { expect: f32(dxm) }, ...(ya && dxa ? { ya: { expect: f32(ya) }, dxa: { expect: f32(dxa) } } : {}) },
      code: `static const pe_pool2d_t p = ${pool2dInit(p)};
    pe_maxpool2d(&p, x, ym);
    pe_maxpool2d_grad(&p, dy, x, dxm);${ya ? `\n    pe_avgpool2d(&p, ${pc.inc ?? 0}, x, ya);\n    pe_avgpool2d_grad(&p, ${pc.inc ?? 0}, dy, dxa);` : ''}`,
    });
  }
  {
    const x = U([2, 7, 5, 3]), dy = U([2, 7, 1, 1]);
    const y = oracle('GlobalAveragePool', [x])[0];
    const dx = oracle('GlobalAveragePoolGrad', [dy, I64([2, 7, 5, 3])], {}, { domain: 'pockengine' })[0];
    out.push({ name: 'GlobalAveragePool', inputs: { x: f32(x), dy: f32(dy) }, outputs: { y: { expect: f32(y) }, dx: { expect: f32(dx) } },
      code: 'pe_global_avgpool(14, 15, x, y);\n    pe_global_avgpool_grad(14, 15, dy, dx);' });
  }
  // Softmax / LogSoftmax over a middle axis and the last axis.
  for (const [dims, axis] of [[[3, 10], -1], [[2, 5, 4], 1]] as [number[], number][]) {
    const a = axis < 0 ? axis + dims.length : axis;
    const outer = dims.slice(0, a).reduce((p, d) => p * d, 1), n = dims[a], inner = dims.slice(a + 1).reduce((p, d) => p * d, 1);
    for (const log of [0, 1]) {
      const op = log ? 'LogSoftmax' : 'Softmax';
      const x = U(dims, -4, 4), dy = U(dims);
      const y = oracle(op, [x], { axis: A.int(axis) })[0];
      const dx = oracle(`${op}Grad`, [dy, y], { axis: A.int(axis) }, { domain: 'pockengine' })[0];
      out.push({ name: `${op} [${dims}] axis ${axis}`, inputs: { x: f32(x), dy: f32(dy), ys: f32(y) }, outputs: { y: { expect: f32(y) }, dx: { expect: f32(dx) } },
        code: `pe_softmax(${outer}, ${n}, ${inner}, ${log}, x, y);\n    pe_softmax_grad(${outer}, ${n}, ${inner}, ${log}, dy, ys, dx);` });
    }
  }
  for (const [rows, C] of [[4, 10], [6, 33]]) {
    const x = U([rows, C], -5, 5);
    const labels = I64(Array.from({ length: rows }, () => Math.floor(rand() * C)));
    const dl = U([], 0.5, 2);
    const loss = oracle('SoftmaxCrossEntropy', [x, labels], {}, { domain: 'pockengine' })[0];
    const dx = oracle('SoftmaxCrossEntropyGrad', [dl, x, labels], {}, { domain: 'pockengine' })[0];
    out.push({ name: `SoftmaxCrossEntropy ${rows}x${C}`, inputs: { x: f32(x), labels: labels.data as BigInt64Array, dl: f32(dl) },
      outputs: { loss: { expect: f32(loss) }, dx: { expect: f32(dx) } },
      code: `pe_softmax_xent(${rows}, ${C}, x, labels, loss);\n    pe_softmax_xent_grad(${rows}, ${C}, dl, x, labels, dx);` });
  }
  // Reductions: ReduceSum / ReduceMean over axes, ReduceToShape (bias / broadcast gradients), ReduceGrad.
  for (const [xd, axes, mean] of [[[4, 6, 5], [1], 0], [[4, 6, 5], [0, 2], 1], [[2, 3, 4, 5], [0, 2, 3], 0], [[7, 9], [0, 1], 1]] as [number[], number[], number][]) {
    const x = U(xd);
    const y = oracle(mean ? 'ReduceMean' : 'ReduceSum', [x, I64(axes)], { keepdims: A.int(1) }, { opset: 18 })[0];
    const kept = xd.map((d, i) => (axes.includes(i) ? 1 : d));
    const r = reduceArgs(xd, kept);
    const count = axes.reduce((p, a) => p * xd[a], 1);
    const dy = U(kept);
    const dx = oracle('ReduceGrad', [dy, I64(xd), I64(axes)], { mean: A.int(mean) }, { domain: 'pockengine' })[0];
    const b = broadcastArgs(kept, xd);
    out.push({ name: `Reduce${mean ? 'Mean' : 'Sum'} [${xd}] axes ${axes}`, ws: reduceWorkspace(r.ny), inputs: { x: f32(x), dy: f32(dy) },
      outputs: { y: { expect: f32(y) }, dx: { expect: f32(dx) } },
      code: `static const int dims[] = ${ints(r.dims)}; static const ptrdiff_t ys[] = ${ints(r.ys)};
    pe_reduce_sum(${r.dims.length}, dims, ys, x, y, ${r.ny}, ${cf(mean ? 1 / count : 1)}, (double *)ws);
    static const int bd[] = ${ints(b.dims)}; static const ptrdiff_t bx[] = ${ints(b.xs)};
    pe_copy_strided(${b.dims.length}, bd, bx, dy, dx, ${cf(mean ? 1 / count : 1)});` });
  }
  for (const [gd, td] of [[[8, 16, 5, 5], [16, 1, 1]], [[6, 10], [10]], [[3, 4, 5], [3, 1, 5]]] as [number[], number[]][]) {
    const g = U(gd);
    const y = oracle('ReduceToShape', [g, I64(td)], {}, { domain: 'pockengine' })[0];
    const kept = [...new Array(gd.length - td.length).fill(1), ...td];
    const r = reduceArgs(gd, kept);
    out.push({ name: `ReduceToShape [${gd}] -> [${td}]`, ws: reduceWorkspace(r.ny), inputs: { g: f32(g) }, outputs: { y: { expect: f32(y) } },
      code: `static const int dims[] = ${ints(r.dims)}; static const ptrdiff_t ys[] = ${ints(r.ys)};
    pe_reduce_sum(${r.dims.length}, dims, ys, g, y, ${r.ny}, 1.0f, (double *)ws);` });
  }
  // Transpose
  for (const [xd, perm] of [[[3, 4, 5], [2, 0, 1]], [[2, 3, 4, 5], [0, 2, 1, 3]], [[6, 7], [1, 0]]] as [number[], number[]][]) {
    const x = U(xd);
    const y = oracle('Transpose', [x], { perm: A.ints(perm) })[0];
    const t = transposeArgs(xd, perm);
    out.push({ name: `Transpose [${xd}] perm ${perm}`, inputs: { x: f32(x) }, outputs: { y: { expect: f32(y) } },
      code: `static const int dims[] = ${ints(t.dims)}; static const ptrdiff_t xs[] = ${ints(t.xs)};
    pe_copy_strided(${t.dims.length}, dims, xs, x, y, 1.0f);` });
  }
  // Concat (each input copied into its box of the output), Slice and SliceGrad (a box read, a box written into zeros).
  {
    const a = U([2, 3, 4]), b = U([2, 5, 4]);
    const y = oracle('Concat', [a, b], { axis: A.int(1) })[0];
    const ba = boxArgs([2, 8, 4], [0, 0, 0], [2, 3, 4]), bb = boxArgs([2, 8, 4], [0, 3, 0], [2, 5, 4]);
    const x = U([5, 6, 7]);
    const starts = [1, 0, 2], ends = [4, 6, 7], steps = [1, 2, 1];
    const ys = oracle('Slice', [x, I64(starts), I64(ends), I64([0, 1, 2]), I64(steps)])[0];
    const dy = U(ys.dims);
    const dx = oracle('SliceGrad', [dy, I64([5, 6, 7]), I64(starts), I64(ends), I64([0, 1, 2]), I64(steps)], {}, { domain: 'pockengine' })[0];
    const box = boxArgs([5, 6, 7], starts, ys.dims);
    const sx = box.strides.map((s, i) => s * steps[i]);
    out.push({ name: 'Concat, Slice, SliceGrad', inputs: { a: f32(a), b: f32(b), x: f32(x), dy: f32(dy) },
      outputs: { y: { expect: f32(y) }, ys: { expect: f32(ys) }, dx: { expect: f32(dx) } },
      code: `static const int da[] = {2, 3, 4}, db[] = {2, 5, 4}, dsl[] = ${ints(ys.dims)};
    static const ptrdiff_t ya[] = ${ints(ba.strides)}, xa[] = ${ints(ba.dense)}, xb[] = ${ints(bb.dense)};
    static const ptrdiff_t sxs[] = ${ints(sx)}, sden[] = ${ints(box.dense)};
    pe_copy_nd(3, da, xa, ya, a, y + ${ba.offset}, 0);
    pe_copy_nd(3, db, xb, ya, b, y + ${bb.offset}, 0);
    pe_copy_nd(3, dsl, sxs, sden, x + ${box.offset}, ys, 0);
    pe_copy_nd(3, dsl, sden, sxs, dy, dx + ${box.offset}, 1);` });
  }
  // Gather (embedding rows, axis 0, repeated and negative indices) and its scatter-add backward; axis 1.
  for (const [xd, axis, idx] of [[[10, 6], 0, [3, -1, 3, 0, 7]], [[4, 5, 3], 1, [4, 0, 0]]] as [number[], number, number[]][]) {
    const x = U(xd), ind = I64(idx);
    const y = oracle('Gather', [x, ind], { axis: A.int(axis) })[0];
    const dy = U(y.dims);
    const dx = oracle('GatherGrad', [dy, ind, I64(xd)], { axis: A.int(axis) }, { domain: 'pockengine' })[0];
    const outer = xd.slice(0, axis).reduce((p, d) => p * d, 1), inner = xd.slice(axis + 1).reduce((p, d) => p * d, 1);
    out.push({ name: `Gather [${xd}] axis ${axis}`, inputs: { x: f32(x), idx: ind.data as BigInt64Array, dy: f32(dy) },
      outputs: { y: { expect: f32(y) }, dx: { expect: f32(dx) } },
      code: `pe_gather(${outer}, ${idx.length}, ${xd[axis]}, ${inner}, x, idx, y);\n    pe_gather_grad(${outer}, ${idx.length}, ${xd[axis]}, ${inner}, dy, idx, dx);` });
  }
  // Optimizers (in place). The channel-prefix case updates only the first 3 of 8 output channels.
  const P = [8, 4, 3, 3];
  const np = P.reduce((p, d) => p * d, 1);
  for (const cfg of [
    { momentum: 0, dampening: 0, wd: 0, nesterov: 0, first: 1 }, { momentum: 0.9, dampening: 0.1, wd: 1e-4, nesterov: 0, first: 0 },
    { momentum: 0.9, dampening: 0, wd: 0, nesterov: 1, first: 1 }, { momentum: 0.9, dampening: 0, wd: 5e-4, nesterov: 1, first: 0, prefix: 3 },
  ]) {
    const p = U(P), g = U(P), buf = U(P);
    const attrs = { lr: A.float(0.05), momentum: A.float(cfg.momentum), dampening: A.float(cfg.dampening), weight_decay: A.float(cfg.wd), nesterov: A.int(cfg.nesterov) };
    const res = oracle('SGD', [p, g, buf, I64([cfg.first ? 0 : 5], [])], attrs, { domain: 'pockengine', outputs: 2 });
    const n = cfg.prefix ? (cfg.prefix * np) / P[0] : np;
    const outputs: CCase['outputs'] = { p: { expect: f32(res[0]), init: f32(p), prefix: n } };
    if (cfg.momentum) outputs.buf = { expect: f32(res[1]), init: f32(buf), prefix: n };
    out.push({ name: `SGD ${JSON.stringify(cfg)}`, inputs: { g: f32(g) }, outputs,
      code: `pe_sgd(${n}, p, g, ${cfg.momentum ? 'buf' : 'NULL'}, 0.05f, ${cf(cfg.momentum)}, ${cf(cfg.dampening)}, ${cf(cfg.wd)}, ${cfg.nesterov}, ${cfg.first});` });
  }
  for (const cfg of [{ wd: 0, decoupled: 0, step: 0 }, { wd: 0.01, decoupled: 0, step: 3 }, { wd: 0.01, decoupled: 1, step: 7 }]) {
    const p = U(P), g = U(P), m = U(P, -0.1, 0.1), v = U(P, 0, 0.1);
    const attrs = { lr: A.float(1e-3), beta1: A.float(0.9), beta2: A.float(0.999), epsilon: A.float(1e-8), weight_decay: A.float(cfg.wd), decoupled: A.int(cfg.decoupled) };
    const [np2, nm, nv] = oracle('Adam', [p, g, m, v, I64([cfg.step], [])], attrs, { domain: 'pockengine', outputs: 3 });
    out.push({ name: `Adam ${JSON.stringify(cfg)}`, inputs: { g: f32(g) },
      outputs: { p: { expect: f32(np2), init: f32(p) }, m: { expect: f32(nm), init: f32(m) }, v: { expect: f32(nv), init: f32(v) } },
      code: `pe_adam(${np}, p, g, m, v, ${cfg.step + 1}, 1e-3f, 0.9f, 0.999f, 1e-8f, ${cf(cfg.wd)}, ${cfg.decoupled});` });
  }
  return out;
}
