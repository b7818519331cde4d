// Matrix products. Gemm's gradients are Gemms with the transposes swapped; MatMul's (batched, broadcast)
// use the 'pockengine' MatMulT, a MatMul whose operands may be transposed in their last two dims, so the
// rule needs no rank to build a Transpose, then sum broadcast batch dims away.

import { attrFloat, attrInt } from '../../ir/graph';
import { attrs } from '../builder';
import { PE, type GradRule } from './types';

/** Output dims of MatMulT (broadcast batch dims, then M×N), when both operand shapes are known. */
function matmulTShape(a: number[] | null, b: number[] | null, ta: number, tb: number): number[] | null {
  if (!a || !b || a.length < 2 || b.length < 2) return null;
  const M = ta ? a[a.length - 1] : a[a.length - 2];
  const N = tb ? b[b.length - 2] : b[b.length - 1];
  const ba = a.slice(0, -2), bb = b.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = ba[ba.length - rank + i] ?? 1, y = bb[bb.length - rank + i] ?? 1;
    batch.push(x === 1 ? y : x);
  }
  return [...batch, M, N];
}

export const matmulRules: Record<string, GradRule> = {
  Gemm: {
    grad: (c) => {
      const tA = attrInt(c.node, 'transA', 0);
      const tB = attrInt(c.node, 'transB', 0);
      const alpha = attrFloat(c.node, 'alpha', 1);
      const beta = attrFloat(c.node, 'beta', 1);
      const g = c.gy()!;
      const gemm = (a: string, b: string, ta: number, tb: number, what: string): string =>
        c.emit1('Gemm', [a, b], what, { attrs: { transA: attrs.int(ta), transB: attrs.int(tb), alpha: attrs.float(alpha) }, like: [what === 'input' ? c.x(0) : c.x(1)] });
      // Y = alpha op(A) op(B): d op(A) = G op(B)^T, d op(B) = op(A)^T G; transpose back where op transposed.
      const dA = c.needs(0) ? (tA ? gemm(c.x(1), g, tB, 1, 'input') : gemm(g, c.x(1), 0, tB ? 0 : 1, 'input')) : undefined;
      const dB = c.needs(1) ? (tB ? gemm(g, c.x(0), 1, tA, 'weight') : gemm(c.x(0), g, tA ? 0 : 1, 0, 'weight')) : undefined;
      let dC: string | undefined;
      if (c.node.inputs[2] && c.needs(2)) {
        const gc = beta === 1 ? g : c.emit1('Mul', [g, c.constFloat(beta)], 'bias_scale');
        dC = c.reduceTo(gc, 2);
      }
      return [dA, dB, dC];
    },
  },
  MatMul: {
    grad: (c) => {
      const g = c.gy()!;
      for (const i of [0, 1]) {
        if (c.ed.staticDims(c.x(i))?.length === 1) throw new Error('no gradient rule for MatMul with a 1-D operand (numpy vector promotion); reshape it to 2-D in the model');
      }
      const mm = (a: string, b: string, ta: number, tb: number, what: string): string => {
        const out = c.emit1('MatMulT', [a, b], what, { domain: PE, attrs: { transA: attrs.int(ta), transB: attrs.int(tb) } });
        // The incoming gradient is typed only later; it has the forward output's shape.
        const dims = (v: string): number[] | null => c.ed.staticDims(v === g ? c.y() : v);
        const shape = matmulTShape(dims(a), dims(b), ta, tb);
        if (shape) c.ed.graph.values.get(out)!.type = { dtype: c.ed.dtypeOf(a) ?? 'float32', shape };
        return out;
      };
      return [
        c.needs(0) ? c.reduceTo(mm(g, c.x(1), 0, 1, 'input0'), 0) : undefined,
        c.needs(1) ? c.reduceTo(mm(c.x(0), g, 1, 0, 'input1'), 1) : undefined,
      ];
    },
  },
};
