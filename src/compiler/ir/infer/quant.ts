// Quantized models (the usual form on Pi- and Jetson-class devices): (De)QuantizeLinear and the integer
// and QLinear forms of MatMul and Conv, which reuse the float rules on their data inputs.

import { dtypeFromOnnx, type DType } from '../dtype';
import { attrInt } from '../graph';
import { convRules } from './conv';
import { matmulRules } from './matmul';
import { type InferCtx, type ShapeRule, t } from './context';

/** The context seen through an input map: input i of the view is input map[i] of the node. */
function remap(c: InferCtx, map: number[]): InferCtx {
  const at = (i: number): number => map[i] ?? -1;
  return {
    node: c.node,
    opset: c.opset,
    numInputs: map.length,
    has: (i) => at(i) >= 0 && c.has(at(i)),
    type: (i) => (at(i) >= 0 ? c.type(at(i)) : null),
    shape: (i) => (at(i) >= 0 ? c.shape(at(i)) : null),
    dtype: (i) => (at(i) >= 0 ? c.dtype(at(i)) : 'undefined'),
    value: (i) => (at(i) >= 0 ? c.value(at(i)) : undefined),
    maybeValue: (i) => at(i) >= 0 && c.maybeValue(at(i)),
    fresh: (k, d) => c.fresh(k, d),
    setValue: () => undefined,
    subgraph: (g, types) => c.subgraph(g, types),
  };
}

/** Runs a float rule on some inputs and gives its outputs another dtype. */
function via(rule: ShapeRule, map: number[], dtype: (c: InferCtx) => DType): ShapeRule {
  return (c) => rule(remap(c, map)).map((o) => (o ? t(dtype(c), o.shape) : o));
}

function outDtype(c: InferCtx, zeroPoint: number, dflt: DType): DType {
  if (c.node.attrs.output_dtype) return dtypeFromOnnx(attrInt(c.node, 'output_dtype', 0));
  return c.has(zeroPoint) ? c.dtype(zeroPoint) : dflt;
}

export const quantRules: Record<string, ShapeRule> = {
  QuantizeLinear: (c) => [t(outDtype(c, 2, 'uint8'), c.shape(0))],
  DequantizeLinear: (c) => [t(c.node.attrs.output_dtype ? dtypeFromOnnx(attrInt(c.node, 'output_dtype', 1)) : c.has(1) ? c.dtype(1) : 'float32', c.shape(0))],
  DynamicQuantizeLinear: (c) => [t('uint8', c.shape(0)), t('float32', []), t('uint8', [])],
  MatMulInteger: via(matmulRules.MatMul, [0, 1], () => 'int32'),
  ConvInteger: via(convRules.Conv, [0, 1], () => 'int32'),
  QLinearMatMul: via(matmulRules.MatMul, [0, 3], (c) => c.dtype(7)),
  QLinearConv: via(convRules.Conv, [0, 3], (c) => c.dtype(7)),
};
