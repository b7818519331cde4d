// Data movement: reshapes, transposes, slicing, concatenation, gathering. The gradient moves the values
// back to where they came from; shape and index inputs get none.

import { attr, attrInt, type AttrValue } from '../../ir/graph';
import { attrs } from '../builder';
import { PE, type GradRule } from './types';

const FLOAT_CODES = new Set([1, 10, 11, 16]);
const FLOAT_CODE: Record<string, number> = { float32: 1, float16: 10, float64: 11, bfloat16: 16 };

const reshapeBack: GradRule = {
  differentiable: () => [0],
  grad: (c) => [c.emit1('Reshape', [c.gy()!, c.shapeOf(c.x(0))], 'input', { like: [c.x(0)] })],
};

const passThrough: GradRule = {
  differentiable: () => [0],
  grad: (c) => [c.gy()!],
};

export const shapeRules: Record<string, GradRule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Identity: passThrough,
  Transpose: {
    grad: (c) => {
      const perm = attr(c.node, 'perm', 'ints');
      const a: Record<string, AttrValue> = {};
      if (perm) {
        const inv = new Array<number>(perm.length);
        perm.forEach((p, i) => (inv[p] = i));
        a.perm = attrs.ints(inv);
      }
      return [c.emit1('Transpose', [c.gy()!], 'input', { attrs: a, like: [c.x(0)] })];
    },
  },
  Expand: {
    differentiable: () => [0],
    grad: (c) => [c.reduceTo(c.gy()!, 0)],
  },
  Trilu: {
    differentiable: () => [0],
    grad: (c) => [c.emit1('Trilu', c.node.inputs[1] ? [c.gy()!, c.node.inputs[1]] : [c.gy()!], 'input', { attrs: c.node.attrs.upper ? { upper: c.node.attrs.upper } : {} })],
  },
  Cast: {
    differentiable: (n) => (FLOAT_CODES.has(attrInt(n, 'to', 0)) ? [0] : []),
    grad: (c) => {
      const from = c.ed.dtypeOf(c.x(0)) ?? 'float32';
      const code = FLOAT_CODE[from];
      if (code === undefined) return [undefined];
      return [c.emit1('Cast', [c.gy()!], 'input', { attrs: { to: attrs.int(code) }, like: [c.x(0)] })];
    },
  },
  Dropout: {
    differentiable: () => [0],
    grad: (c) => {
      const mask = c.node.outputs[1];
      if (!mask) return [c.gy()!];
      const a: Record<string, AttrValue> = { ratio: attrs.float(attr(c.node, 'ratio', 'float') ?? 0.5), opset: attrs.int(c.opset) };
      const ins = [c.gy()!, mask, c.node.inputs[1] ?? '', c.node.inputs[2] ?? ''];
      while (ins[ins.length - 1] === '') ins.pop();
      return [c.emit1('DropoutGrad', ins, 'input', { domain: PE, attrs: a, like: [c.x(0)] })];
    },
  },
  Concat: {
    grad: (c) => {
      const n = c.node.inputs.length;
      const shapes = c.node.inputs.map((x) => c.shapeOf(x));
      const parts = c.emit('SplitLike', [c.gy()!, ...shapes], 'inputs', { domain: PE, attrs: { axis: attrs.int(attrInt(c.node, 'axis', 0)) }, outputs: n, like: c.node.inputs });
      return parts.map((p, i) => (c.needs(i) ? p : undefined));
    },
  },
  Split: {
    differentiable: () => [0],
    grad: (c) => {
      const parts = c.node.outputs.map((_, k) => c.gyOrZeros(k));
      return [c.emit1('Concat', parts, 'input', { attrs: { axis: attrs.int(attrInt(c.node, 'axis', 0)) }, like: [c.x(0)] })];
    },
  },
  Slice: {
    differentiable: () => [0],
    grad: (c) => {
      const a: Record<string, AttrValue> = {};
      for (const k of ['starts', 'ends', 'axes']) if (c.node.attrs[k]) a[k] = c.node.attrs[k];
      const ins = [c.gy()!, c.shapeOf(c.x(0)), ...c.node.inputs.slice(1)];
      while (ins[ins.length - 1] === '') ins.pop();
      return [c.emit1('SliceGrad', ins, 'input', { domain: PE, attrs: a, like: [c.x(0)] })];
    },
  },
  Pad: {
    differentiable: () => [0],
    grad: (c) => {
      const mode = attr(c.node, 'mode', 'string') ?? 'constant';
      if (mode !== 'constant') throw new Error(`no gradient rule for Pad in ${mode} mode (only constant padding)`);
      const a: Record<string, AttrValue> = c.node.attrs.pads ? { pads: c.node.attrs.pads } : {};
      const ins = [c.gy()!, c.shapeOf(c.x(0)), c.node.inputs[1] ?? '', c.node.inputs[3] ?? ''];
      while (ins[ins.length - 1] === '') ins.pop();
      return [c.emit1('PadGrad', ins, 'input', { domain: PE, attrs: a, like: [c.x(0)] })];
    },
  },
  Tile: {
    differentiable: () => [0],
    grad: (c) => [c.emit1('TileGrad', [c.gy()!, c.shapeOf(c.x(0))], 'input', { domain: PE, like: [c.x(0)] })],
  },
  Gather: {
    differentiable: () => [0],
    grad: (c) => [c.emit1('GatherGrad', [c.gy()!, c.x(1), c.shapeOf(c.x(0))], 'input', { domain: PE, attrs: { axis: attrs.int(attrInt(c.node, 'axis', 0)) }, like: [c.x(0)] })],
  },
};
