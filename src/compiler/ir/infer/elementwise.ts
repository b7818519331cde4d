// Element-wise operators: unary ones keep their input's type, binary and variadic ones broadcast, and
// comparisons give bool. Integer results on small constants are folded, since PyTorch computes shapes
// with exactly these operators.

import { dtypeFromOnnx, type DType } from '../dtype';
import { attrInt } from '../graph';
import type { Shape } from '../shape';
import { addDims, divDims, mulDims, subDims } from './dims';
import { broadcastShapes, foldElementwise, isIntType } from './broadcast';
import { type Elem, type InferCtx, type ShapeRule, fail, t } from './context';

type Fold = (xs: Elem[], intOut: boolean) => Elem;

const num = (f: (...a: number[]) => number): Fold => (xs) => (xs.every((x) => typeof x === 'number') ? f(...(xs as number[])) : null);

/** A rule whose output has input 0's shape and dtype `out` (default: input 0's), folding with `fold`. */
function unary(fold?: Fold, out?: (c: InferCtx) => DType): ShapeRule {
  return (c) => {
    const dtype = out ? out(c) : c.dtype(0);
    if (fold) {
      const v = foldElementwise(c, dtype, (xs) => fold(xs, isIntType(dtype)), [0]);
      if (v) c.setValue(0, v);
    }
    return [t(dtype, c.shape(0))];
  };
}

/** Broadcasting over the given inputs (all present ones by default). */
function broadcasting(fold: Fold | undefined, out: (c: InferCtx) => DType, which?: (c: InferCtx) => number[]): ShapeRule {
  return (c) => {
    const idx = which ? which(c) : [...Array(c.numInputs).keys()].filter((i) => c.has(i));
    if (idx.length === 0) fail('needs at least one input');
    const shape: Shape = broadcastShapes(idx.map((i) => c.shape(i)));
    const dtype = out(c);
    if (fold) {
      const v = foldElementwise(c, dtype, (xs) => fold(xs, isIntType(dtype)), idx);
      if (v) c.setValue(0, v);
    }
    return [t(dtype, shape)];
  };
}

const first = (c: InferCtx): DType => c.dtype(0);
const bool = (): DType => 'bool';

const addF: Fold = ([a, b]) => (a === null || b === null ? null : addDims(a, b));
const subF: Fold = ([a, b]) => (a === null || b === null ? null : subDims(a, b));
const mulF: Fold = ([a, b]) => (a === null || b === null ? null : mulDims(a, b));
const divF: Fold = ([a, b], int) => {
  if (typeof a === 'number' && typeof b === 'number') return b === 0 ? null : int ? Math.trunc(a / b) : a / b;
  if (a === null || b === null || !int) return null;
  return divDims(a, b);
};
const eqF: Fold = ([a, b]) => {
  if (a === null || b === null) return null;
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 1 : 0;
  if (a === b) return 1;
  // A dimension is never negative: comparing one with -1 (PyTorch's "infer this dim") is always false.
  if ((typeof a === 'number' && a < 0) || (typeof b === 'number' && b < 0)) return 0;
  return null;
};
const whereF: Fold = ([cond, x, y]) => (typeof cond === 'number' ? (cond ? x : y) : x === y ? x : null);
const minF: Fold = (xs) => (xs.every((x) => typeof x === 'number') ? Math.min(...(xs as number[])) : xs.every((x) => x === xs[0]) ? xs[0] : null);
const maxF: Fold = (xs) => (xs.every((x) => typeof x === 'number') ? Math.max(...(xs as number[])) : xs.every((x) => x === xs[0]) ? xs[0] : null);
const sumF: Fold = (xs) => xs.reduce<Elem>((acc, x) => (acc === null || x === null ? null : addDims(acc, x)), 0);
const modF = (fmod: boolean): Fold =>
  num((a, b) => {
    if (b === 0) return NaN;
    const r = a % b;
    return fmod || r === 0 || Math.sign(r) === Math.sign(b) ? r : r + b;
  });
const identityF: Fold = ([a]) => a;

/** ONNX Round: halves go to the even neighbour. */
function roundHalfEven(a: number): number {
  const f = Math.floor(a);
  const d = a - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

function castRule(c: InferCtx): ReturnType<ShapeRule> {
  const to = attrInt(c.node, 'to', -1);
  let dtype: DType;
  try {
    dtype = dtypeFromOnnx(to);
  } catch {
    fail(`Cast "to" is ${to}, which is not an ONNX data type this compiler knows`);
  }
  const int = isIntType(dtype);
  const v = foldElementwise(c, dtype, ([x]) => {
    if (typeof x !== 'number') return x; // symbolic dims survive int64 <-> float casts
    if (dtype === 'bool') return x !== 0 ? 1 : 0;
    return int ? Math.trunc(x) : x;
  }, [0]);
  if (v) c.setValue(0, v);
  return [t(dtype, c.shape(0))];
}

const SAME_TYPE_UNARY = [
  'Relu', 'Sigmoid', 'Tanh', 'Gelu', 'HardSwish', 'HardSigmoid', 'Erf', 'Exp', 'Log', 'Sqrt', 'Cos', 'Sin', 'Tan',
  'Acos', 'Asin', 'Atan', 'Cosh', 'Sinh', 'Asinh', 'Acosh', 'Atanh', 'Reciprocal', 'LeakyRelu', 'Softplus',
  'Softsign', 'Elu', 'Selu', 'Celu', 'Mish', 'ThresholdedRelu', 'Round', 'Sign', 'Shrink', 'Softmax',
  'LogSoftmax', 'Hardmax', 'Trilu', 'LRN', 'MeanVarianceNormalization', 'LpNormalization', 'CumSum',
  'InstanceNormalization', 'GroupNormalization', 'BitwiseNot', 'Swish', 'ScatterND', 'ScatterElements', 'Scatter',
  'RMSNormalization', 'RotaryEmbedding',
];

export const elementwiseRules: Record<string, ShapeRule> = {
  Identity: unary(identityF),
  Relu: unary(num((a) => Math.max(a, 0))),
  Sqrt: unary(num(Math.sqrt)),
  Exp: unary(num(Math.exp)),
  Log: unary(num(Math.log)),
  Sign: unary(num(Math.sign)),
  Round: unary(num(roundHalfEven)),
  Reciprocal: unary(num((a) => 1 / a)),
  Neg: unary(num((a) => -a)),
  Abs: unary(([a]) => (typeof a === 'number' ? Math.abs(a) : a)),
  Floor: unary(([a]) => (typeof a === 'number' ? Math.floor(a) : a)),
  Ceil: unary(([a]) => (typeof a === 'number' ? Math.ceil(a) : a)),
  Not: unary(num((a) => (a ? 0 : 1)), bool),
  IsNaN: unary(undefined, bool),
  IsInf: unary(undefined, bool),
  Cast: castRule,
  CastLike: (c) => {
    const dtype = c.dtype(1);
    const v = foldElementwise(c, dtype, ([x]) => (typeof x === 'number' && isIntType(dtype) ? Math.trunc(x) : x), [0]);
    if (v) c.setValue(0, v);
    return [t(dtype, c.shape(0))];
  },
  Add: broadcasting(addF, first),
  Sub: broadcasting(subF, first),
  Mul: broadcasting(mulF, first),
  Div: broadcasting(divF, first),
  Pow: broadcasting(num((a, b) => a ** b), first),
  Mod: (c) => broadcasting(modF(attrInt(c.node, 'fmod', 0) === 1), first)(c),
  PRelu: broadcasting(undefined, first),
  BitShift: broadcasting(undefined, first),
  BitwiseAnd: broadcasting(undefined, first),
  BitwiseOr: broadcasting(undefined, first),
  BitwiseXor: broadcasting(undefined, first),
  Equal: broadcasting(eqF, bool),
  Less: broadcasting(num((a, b) => (a < b ? 1 : 0)), bool),
  LessOrEqual: broadcasting(num((a, b) => (a <= b ? 1 : 0)), bool),
  Greater: broadcasting(num((a, b) => (a > b ? 1 : 0)), bool),
  GreaterOrEqual: broadcasting(num((a, b) => (a >= b ? 1 : 0)), bool),
  And: broadcasting(num((a, b) => (a && b ? 1 : 0)), bool),
  Or: broadcasting(num((a, b) => (a || b ? 1 : 0)), bool),
  Xor: broadcasting(num((a, b) => ((a ? 1 : 0) ^ (b ? 1 : 0))), bool),
  Where: broadcasting(whereF, (c) => c.dtype(1)),
  Min: broadcasting(minF, first),
  Max: broadcasting(maxF, first),
  Sum: broadcasting(sumF, first),
  Mean: broadcasting(undefined, first),
  // Clip's min/max inputs are scalars; only the data input shapes the output.
  Clip: unary(),
  Dropout: (c) => {
    const out = [t(c.dtype(0), c.shape(0))];
    // Mask: bool since opset 10, the data's type before.
    if (c.node.outputs.length > 1) out.push(t(c.opset >= 10 ? 'bool' : c.dtype(0), c.shape(0)));
    // Dropout is the identity at inference, so a constant passes through.
    const v = c.maybeValue(0) ? c.value(0) : undefined;
    if (v) c.setValue(0, v);
    return out;
  },
};
for (const op of SAME_TYPE_UNARY) elementwiseRules[op] ??= unary();

