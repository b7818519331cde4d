// Shape inference against the ONNX project's operator tests, and on hand-written graphs with symbolic
// dims. Each node test's declared output types are erased before inference, so what is checked is what
// the compiler infers, not what the file says.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeTensorProto, importModelFile } from '../../src/compiler/onnx/import';
import { tensorToInitializer } from '../../src/compiler/onnx/encode';
import { inferShapes, isKnownOp } from '../../src/compiler/ir/inferShapes';
import type { AttrValue, Model, Node, ValueType } from '../../src/compiler/ir/graph';
import type { DType } from '../../src/compiler/ir/dtype';
import type { Dim, Shape } from '../../src/compiler/ir/shape';
import { tensor } from '../../src/compiler/ir/tensor';

const repoRoot = path.resolve(__dirname, '..', '..');
const nodeTests = path.resolve(repoRoot, '..', 'shared', 'onnx-node-tests');

/**
 * Cases whose output shape depends on the values of a graph input (Reshape's target shape, Slice's
 * bounds, Range's limits, axes given as an input...). In an exported model these inputs are initializers
 * or Constants; the test feeds them as data. Without their values the shape cannot be known, so these
 * are checked again with those inputs bound as initializers (how a real model carries them).
 */
const DATA_DEPENDENT: Record<string, string> = {};
const depends = (reason: string, ...names: string[]): void => names.forEach((n) => (DATA_DEPENDENT[n] = reason));
depends('ConstantOfShape: the shape is input data', 'test_constantofshape_float_ones', 'test_constantofshape_int_shape_zero', 'test_constantofshape_int_zeros');
depends('Expand: the target shape is input data', 'test_expand_dim_changed', 'test_expand_dim_unchanged');
depends('Range: start/limit/delta are input data', ...['bfloat16', 'float16', 'float'].flatMap((t) => [`test_range_${t}_type_positive_delta`, `test_range_${t}_type_positive_delta_expanded`]), 'test_range_int32_type_negative_delta', 'test_range_int32_type_negative_delta_expanded');
depends('ReduceMean-18: axes are input data', ...['default_axes_keepdims', 'do_not_keepdims', 'keepdims', 'negative_axes_keepdims'].flatMap((s) => [`test_reduce_mean_${s}_example`, `test_reduce_mean_${s}_random`]));
depends('ReduceSum-13: axes are input data', ...['default_axes_keepdims', 'do_not_keepdims', 'keepdims', 'negative_axes_keepdims'].flatMap((s) => [`test_reduce_sum_${s}_example`, `test_reduce_sum_${s}_random`]), 'test_reduce_sum_empty_axes_input_noop', 'test_reduce_sum_empty_axes_input_noop_example', 'test_reduce_sum_empty_set', 'test_reduce_sum_empty_set_non_reduced_axis_zero');
depends('Reshape: the target shape is input data', ...['allowzero_reordered', 'extended_dims', 'negative_dim', 'negative_extended_dims', 'reduced_dims', 'reordered_all_dims', 'reordered_last_dims', 'zero_and_negative_dim', 'zero_dim'].map((s) => `test_reshape_${s}`));
depends('Slice: starts/ends/axes/steps are input data', 'test_slice', 'test_slice_default_axes', 'test_slice_default_steps', 'test_slice_end_out_of_bounds', 'test_slice_neg', 'test_slice_neg_steps', 'test_slice_negative_axes', 'test_slice_start_out_of_bounds');
depends('Split-13/18: the split sizes are input data', ...['variable_parts_1d', 'variable_parts_2d', 'variable_parts_default_axis', 'zero_size_splits'].flatMap((s) => [`test_split_${s}_opset13`, `test_split_${s}_opset18`]));
depends('Squeeze-13+: axes are input data', 'test_squeeze', 'test_squeeze_negative_axes');
depends('Unsqueeze-13+: axes are input data', ...['axis_0', 'axis_1', 'axis_2', 'negative_axes', 'three_axes', 'two_axes', 'unsorted_axes'].map((s) => `test_unsqueeze_${s}`));

/** Cases outside what the IR types: its values are tensors, not sequences or optionals. */
const NOT_TENSORS: Record<string, string> = {
  test_identity_opt: 'the input and output are optional<tensor>, which the IR does not type',
  test_identity_sequence: 'the input and output are sequence<tensor>, which the IR does not type',
};

interface CaseResult {
  ok: boolean;
  problems: string[];
  warnings: string[];
}

function runCase(dir: string, bindInputs: boolean): CaseResult {
  const model = importModelFile(path.join(dir, 'model.onnx'));
  const g = model.graph;
  // Erase every declared type but the graph inputs' and initializers', so only inference can fill them.
  for (const v of g.values.values()) if (!g.inputs.includes(v.name) && !g.initializers.has(v.name)) v.type = null;
  if (bindInputs) {
    g.inputs.forEach((name, k) => {
      const file = path.join(dir, 'test_data_set_0', `input_${k}.pb`);
      const init = decodeTensorProto(fs.readFileSync(file));
      g.initializers.set(name, { ...init, name });
    });
  }
  inferShapes(model);
  const problems: string[] = [];
  g.outputs.forEach((out, k) => {
    const ref = decodeTensorProto(fs.readFileSync(path.join(dir, 'test_data_set_0', `output_${k}.pb`)));
    const got = g.values.get(out)?.type;
    if (!got || got.dtype !== ref.dtype || JSON.stringify(got.shape) !== JSON.stringify(ref.dims)) {
      problems.push(`${out}: inferred ${got?.dtype} ${JSON.stringify(got?.shape)}, expected ${ref.dtype} ${JSON.stringify(ref.dims)}`);
    }
  });
  return { ok: problems.length === 0, problems, warnings: model.warnings };
}

test('every ONNX node test: inferred output shapes and dtypes equal the reference outputs', () => {
  const index = JSON.parse(fs.readFileSync(path.join(nodeTests, 'index.json'), 'utf8')) as { n_tests: number; wanted_ops: string[] };
  const cases = fs.readdirSync(nodeTests).filter((d) => fs.existsSync(path.join(nodeTests, d, 'model.onnx'))).sort();
  assert.equal(cases.length, index.n_tests, 'the number of node-test folders matches index.json');
  for (const op of index.wanted_ops) assert.ok(isKnownOp(op), `${op} has a shape rule`);
  for (const name of [...Object.keys(DATA_DEPENDENT), ...Object.keys(NOT_TENSORS)]) assert.ok(cases.includes(name), `listed case ${name} exists`);

  const failures: string[] = [];
  let strict = 0;
  let bound = 0;
  for (const name of cases) {
    if (NOT_TENSORS[name]) continue;
    const dir = path.join(nodeTests, name);
    const r = runCase(dir, false);
    const unknown = r.warnings.filter((w) => w.startsWith('unknown operator'));
    if (unknown.length) failures.push(`${name}: ${unknown.join('; ')}`);
    if (DATA_DEPENDENT[name]) {
      if (r.ok) failures.push(`${name} is listed as data-dependent but passes without its input values: drop it from the list`);
      const b = runCase(dir, true);
      if (b.ok) bound++;
      else failures.push(`${name} (inputs bound as initializers): ${b.problems.join('; ')}`);
    } else if (r.ok) strict++;
    else failures.push(`${name}: ${r.problems.join('; ')} ${r.warnings.join(' | ')}`);
  }
  const skipped = Object.keys(NOT_TENSORS).length;
  console.log(
    `node tests: ${cases.length} cases; ${strict} pass from the graph alone, ${bound} of ${Object.keys(DATA_DEPENDENT).length} ` +
      `data-dependent ones pass with their shape inputs bound, ${skipped} not tensor-typed (${Object.keys(NOT_TENSORS).join(', ')}), ${failures.length} failures`,
  );
  assert.deepEqual(failures, []);
  assert.equal(strict + bound + skipped, cases.length);
});

// ---------------------------------------------------------------------------------------------------
// Hand-written graphs

type AttrIn = number | number[] | string | AttrValue;

/** A tiny model builder: inputs with types, int64 initializers, nodes whose outputs have no type yet. */
class Net {
  readonly model: Model = {
    path: '', irVersion: 8, opsets: { '': 17 }, producerName: 'test', producerVersion: '', modelVersion: 0, docString: '',
    metadata: {}, warnings: [],
    graph: { name: 'g', nodes: [], values: new Map(), inputs: [], outputs: [], initializers: new Map() },
  };
  private n = 0;

  constructor(opset = 17) {
    this.model.opsets[''] = opset;
  }

  input(name: string, dtype: DType, shape: Dim[]): string {
    this.model.graph.inputs.push(name);
    this.model.graph.values.set(name, { name, type: { dtype, shape } });
    return name;
  }

  ints(name: string, values: number[], dims = [values.length]): string {
    const init = tensorToInitializer(name, tensor('int64', dims, BigInt64Array.from(values.map(BigInt))));
    this.model.graph.initializers.set(name, init);
    this.model.graph.values.set(name, { name, type: { dtype: 'int64', shape: dims.slice() } });
    return name;
  }

  op(opType: string, inputs: string[], attrs: Record<string, AttrIn> = {}, outputs = 1, domain = ''): string[] {
    const id = `${opType}_${this.n++}`;
    const outs = Array.from({ length: outputs }, (_, k) => `${id}_out${k}`);
    const a: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(attrs)) {
      a[k] = typeof v === 'string' ? { type: 'string', value: v } : Array.isArray(v) ? { type: 'ints', value: v } : typeof v === 'number' ? { type: 'int', value: v } : v;
    }
    const node: Node = { id, name: id, opType, domain, inputs, outputs: outs, attrs: a, layer: '' };
    this.model.graph.nodes.push(node);
    for (const o of outs) this.model.graph.values.set(o, { name: o, type: null });
    return outs;
  }

  one(opType: string, inputs: string[], attrs: Record<string, AttrIn> = {}): string {
    return this.op(opType, inputs, attrs)[0];
  }

  infer(): this {
    inferShapes(this.model);
    return this;
  }

  type(name: string): ValueType | null {
    return this.model.graph.values.get(name)!.type;
  }

  shape(name: string): Shape {
    return this.type(name)!.shape;
  }
}

test('MatMul keeps a symbolic batch: [batch,16,64] x [64,32] -> [batch,16,32]', () => {
  const n = new Net();
  const y = n.one('MatMul', [n.input('x', 'float32', ['batch', 16, 64]), n.input('w', 'float32', [64, 32])]);
  n.infer();
  assert.deepEqual(n.type(y), { dtype: 'float32', shape: ['batch', 16, 32] });
});

test('MatMul promotes 1-D operands and broadcasts batch dims', () => {
  const n = new Net();
  const a = n.one('MatMul', [n.input('v', 'float32', [64]), n.input('m', 'float32', ['b', 64, 8])]);
  const b = n.one('MatMul', [n.input('p', 'float32', ['b', 1, 4, 64]), n.input('q', 'float32', [3, 64, 5])]);
  n.infer();
  assert.deepEqual(n.shape(a), ['b', 8]);
  assert.deepEqual(n.shape(b), ['b', 3, 4, 5]);
});

test('broadcasting: [N,1,5] with [3,1] -> [N,3,5]; comparisons give bool', () => {
  const n = new Net();
  const x = n.input('x', 'float32', ['N', 1, 5]);
  const y = n.input('y', 'float32', [3, 1]);
  const s = n.one('Add', [x, y]);
  const e = n.one('Equal', [x, y]);
  n.infer();
  assert.deepEqual(n.type(s), { dtype: 'float32', shape: ['N', 3, 5] });
  assert.deepEqual(n.type(e), { dtype: 'bool', shape: ['N', 3, 5] });
});

test('incompatible broadcast is a warning naming the node, and inference goes on', () => {
  const n = new Net();
  const bad = n.one('Add', [n.input('x', 'float32', [2, 3]), n.input('y', 'float32', [4, 3])]);
  const after = n.one('Relu', [n.input('z', 'float32', ['N', 7])]);
  n.infer();
  assert.ok(n.model.warnings.some((w) => w.includes(`"Add_0"`) && w.includes('broadcast')), n.model.warnings.join('\n'));
  assert.deepEqual(n.type(bad), { dtype: 'float32', shape: null });
  assert.deepEqual(n.shape(after), ['N', 7]);
});

test('Reshape with a Shape-derived target keeps the symbolic batch (PyTorch view(b, -1, heads, hd))', () => {
  const n = new Net();
  const x = n.input('x', 'float32', ['batch', 'seq', 64]);
  const shp = n.one('Shape', [x]);
  const b = n.one('Gather', [shp, n.ints('zero', [0], [])], { axis: 0 });
  const bu = n.one('Unsqueeze', [b, n.ints('ax0', [0])]);
  const target = n.one('Concat', [bu, n.ints('rest', [-1, 4, 16])], { axis: 0 });
  const y = n.one('Reshape', [x, target]);
  const t = n.one('Transpose', [y], { perm: [0, 2, 1, 3] });
  const back = n.one('Reshape', [t, n.ints('flat', [0, 0, -1])]);
  n.infer();
  assert.deepEqual(n.shape(y), ['batch', 'seq', 4, 16]);
  assert.deepEqual(n.shape(t), ['batch', 4, 'seq', 16]);
  assert.deepEqual(n.shape(back), ['batch', 4, 'seq*16']);
});

test('Reshape solves one run-time entry from the element count; Flatten multiplies symbols', () => {
  const n = new Net();
  const x = n.input('x', 'float32', ['batch', 'seq', 4096]);
  const shp = n.one('Shape', [x]);
  const bs = n.one('Slice', [shp, n.ints('s0', [0]), n.ints('e2', [2])]);
  const target = n.one('Concat', [bs, n.ints('h', [32, 128])], { axis: 0 });
  const y = n.one('Reshape', [x, target]);
  const f = n.one('Flatten', [x], { axis: 2 });
  const back = n.one('Reshape', [f, n.ints('t2', [-1, 64, 64])]);
  n.infer();
  assert.deepEqual(n.shape(bs), [2]);
  assert.deepEqual(n.shape(y), ['batch', 'seq', 32, 128]);
  assert.deepEqual(n.shape(f), ['batch*seq', 4096]);
  assert.deepEqual(n.shape(back), ['batch*seq', 64, 64]);
});

test('Conv with SAME_UPPER and strides, and pooling with ceil_mode', () => {
  const n = new Net();
  const x = n.input('x', 'float32', ['N', 3, 15, 15]);
  const w = n.input('w', 'float32', [8, 3, 3, 3]);
  const c = n.one('Conv', [x, w], { auto_pad: 'SAME_UPPER', strides: [2, 2] });
  const c1 = n.one('Conv', [x, w], { pads: [1, 1, 1, 1] });
  const dw = n.one('Conv', [c1, n.input('dw', 'float32', [8, 1, 3, 3])], { group: 8, dilations: [2, 2] });
  const [p, idx] = n.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }, 2);
  const g = n.one('GlobalAveragePool', [c]);
  n.infer();
  assert.deepEqual(n.shape(c), ['N', 8, 8, 8]);
  assert.deepEqual(n.shape(c1), ['N', 8, 15, 15]);
  assert.deepEqual(n.shape(dw), ['N', 8, 11, 11]);
  assert.deepEqual(n.shape(p), ['N', 3, 8, 8]);
  assert.deepEqual(n.type(idx), { dtype: 'int64', shape: ['N', 3, 8, 8] });
  assert.deepEqual(n.shape(g), ['N', 8, 1, 1]);
});

test('symbolic spatial dims stay symbolic where the size does not change, else get a fresh name', () => {
  const n = new Net();
  const x = n.input('x', 'float32', ['N', 3, 'H', 'W']);
  const same = n.one('Conv', [x, n.input('w', 'float32', [8, 3, 3, 3])], { pads: [1, 1, 1, 1] });
  const strided = n.one('Conv', [x, n.input('w2', 'float32', [8, 3, 3, 3])], { pads: [1, 1, 1, 1], strides: [2, 2] });
  n.infer();
  assert.deepEqual(n.shape(same), ['N', 8, 'H', 'W']);
  assert.deepEqual(n.shape(strided), ['N', 8, 'Conv_1_d2', 'Conv_1_d3']);
});

test('the causal-mask chain (Shape, Gather, Range, Unsqueeze, Greater, Where, Expand) stays in seq', () => {
  const n = new Net();
  const ids = n.input('ids', 'int64', ['batch', 'seq']);
  const seq = n.one('Gather', [n.one('Shape', [ids]), n.ints('one', [1], [])], { axis: 0 });
  const pos = n.one('Range', [n.ints('z', [0], []), seq, n.ints('d', [1], [])]);
  const row = n.one('Unsqueeze', [pos, n.ints('a0', [0])]);
  const col = n.one('Unsqueeze', [pos, n.ints('a1', [1])]);
  const mask = n.one('Greater', [row, col]);
  const where = n.one('Where', [mask, n.input('ninf', 'float32', []), n.input('zero', 'float32', [])]);
  const target = n.one('Concat', [n.one('Shape', [ids]), n.ints('hh', [1, 8])], { axis: 0 });
  const ex = n.one('Expand', [n.one('Unsqueeze', [n.one('Unsqueeze', [ids, n.ints('a2', [2])]), n.ints('a3', [3])]), target]);
  const ones = n.one('ConstantOfShape', [n.one('Shape', [ids])]);
  n.infer();
  assert.deepEqual(n.type(pos), { dtype: 'int64', shape: ['seq'] });
  assert.deepEqual(n.type(mask), { dtype: 'bool', shape: ['seq', 'seq'] });
  assert.deepEqual(n.type(where), { dtype: 'float32', shape: ['seq', 'seq'] });
  assert.deepEqual(n.shape(ex), ['batch', 'seq', 1, 8]);
  assert.deepEqual(n.type(ones), { dtype: 'float32', shape: ['batch', 'seq'] });
});

test("PyTorch's Where(Equal(shape, -1), 1, shape) before Expand folds through symbolic dims", () => {
  const n = new Net();
  const x = n.input('x', 'float32', ['batch', 1, 64]);
  const shp = n.one('Concat', [n.one('Shape', [n.input('ref', 'float32', ['batch', 'seq'])]), n.ints('c64', [64])], { axis: 0 });
  const eq = n.one('Equal', [shp, n.ints('m1', [-1, -1, -1])]);
  const fixed = n.one('Where', [eq, n.ints('ones', [1, 1, 1]), shp]);
  const y = n.one('Expand', [x, fixed]);
  n.infer();
  assert.deepEqual(n.shape(y), ['batch', 'seq', 64]);
});

test('axes as attributes (old opsets) and as inputs (new) give the same shapes', () => {
  const old = new Net(11);
  const x = old.input('x', 'float32', ['N', 3, 4]);
  const u = old.one('Unsqueeze', [x], { axes: [0, -1] });
  const s = old.one('Squeeze', [u], { axes: [0] });
  const r = old.one('ReduceSum', [x], { axes: [1], keepdims: 0 });
  const sp = old.op('Split', [x], { axis: 2, split: [1, 3] }, 2);
  old.infer();
  const neu = new Net(18);
  const x2 = neu.input('x', 'float32', ['N', 3, 4]);
  const u2 = neu.one('Unsqueeze', [x2, neu.ints('ua', [0, -1])]);
  const s2 = neu.one('Squeeze', [u2, neu.ints('sa', [0])]);
  const r2 = neu.one('ReduceSum', [x2, neu.ints('ra', [1])], { keepdims: 0 });
  const sp2 = neu.op('Split', [x2, neu.ints('ss', [1, 3])], { axis: 2 }, 2);
  const even = neu.op('Split', [x2], { axis: 2, num_outputs: 3 }, 3);
  neu.infer();
  assert.deepEqual(old.shape(u), [1, 'N', 3, 4, 1]);
  assert.deepEqual(neu.shape(u2), old.shape(u));
  assert.deepEqual(old.shape(s), ['N', 3, 4, 1]);
  assert.deepEqual(neu.shape(s2), old.shape(s));
  assert.deepEqual(old.shape(r), ['N', 4]);
  assert.deepEqual(neu.shape(r2), old.shape(r));
  assert.deepEqual(sp.map((o) => old.shape(o)), [['N', 3, 1], ['N', 3, 3]]);
  assert.deepEqual(sp2.map((o) => neu.shape(o)), [['N', 3, 1], ['N', 3, 3]]);
  assert.deepEqual(even.map((o) => neu.shape(o)), [['N', 3, 2], ['N', 3, 2], ['N', 3, 0]]);
});

test('training outputs: BatchNormalization statistics, Dropout mask, LayerNormalization Mean/InvStdDev', () => {
  const n = new Net(15);
  const x = n.input('x', 'float32', ['N', 16, 8, 8]);
  const p = ['scale', 'bias', 'mean', 'var'].map((s) => n.input(s, 'float32', [16]));
  const bn = n.op('BatchNormalization', [x, ...p], { training_mode: 1 }, 3);
  const dr = n.op('Dropout', [x], {}, 2);
  const ln = n.op('LayerNormalization', [x, n.input('g', 'float32', [8, 8])], { axis: -2 }, 3);
  n.infer();
  assert.deepEqual(bn.map((o) => n.shape(o)), [['N', 16, 8, 8], [16], [16]]);
  assert.deepEqual(n.type(dr[1]), { dtype: 'bool', shape: ['N', 16, 8, 8] });
  assert.deepEqual(ln.map((o) => n.shape(o)), [['N', 16, 8, 8], ['N', 16, 1, 1], ['N', 16, 1, 1]]);
});

test('an unknown operator is kept with a warning; its output takes the declared type, and inference continues', () => {
  const n = new Net();
  const x = n.input('x', 'float32', ['N', 8]);
  const [custom] = n.op('FusedGelu', [x], {}, 1, 'com.microsoft');
  const [custom2] = n.op('MysteryOp', [x]);
  n.model.graph.values.get(custom)!.type = { dtype: 'float32', shape: ['N', 8] };
  const after = n.one('Relu', [custom]);
  const after2 = n.one('Relu', [custom2]);
  n.infer();
  assert.equal(isKnownOp('FusedGelu', 'com.microsoft'), false);
  assert.equal(isKnownOp('MysteryOp'), false);
  assert.equal(isKnownOp('Conv'), true);
  assert.ok(n.model.warnings.some((w) => w.includes('com.microsoft.FusedGelu') && w.includes('FusedGelu_0')));
  assert.ok(n.model.warnings.some((w) => w.includes('MysteryOp') && w.includes('MysteryOp_1')));
  assert.deepEqual(n.shape(after), ['N', 8]);
  assert.deepEqual(n.type(custom2), { dtype: 'float32', shape: null });
  assert.deepEqual(n.type(after2), { dtype: 'float32', shape: null });
  assert.equal(n.model.graph.nodes.length, 4);
});

test('declared names beat made-up ones, inferred numbers beat declared symbols', () => {
  const n = new Net();
  const x = n.input('x', 'float32', ['N', 3, 'H', 'W']);
  const c = n.one('Conv', [x, n.input('w', 'float32', [8, 3, 3, 3])], { strides: [2, 2] });
  const r = n.one('Relu', [n.input('y', 'float32', [4, 5])]);
  n.model.graph.values.get(c)!.type = { dtype: 'float32', shape: ['N', 'C', 'outH', 'outW'] };
  n.model.graph.values.get(r)!.type = { dtype: 'float32', shape: ['a', 'b'] };
  n.infer();
  assert.deepEqual(n.shape(c), ['N', 8, 'outH', 'outW']);
  assert.deepEqual(n.shape(r), [4, 5]);
});

test('hostile dims never allocate: ConstantOfShape and Range of 2^40 elements are types only', () => {
  const n = new Net();
  const big = n.one('ConstantOfShape', [n.ints('huge', [1 << 20, 1 << 20])]);
  const r = n.one('Range', [n.ints('a', [0], []), n.ints('b', [2 ** 40], []), n.ints('c', [1], [])]);
  const s = n.one('Shape', [big]);
  const t0 = performance.now();
  n.infer();
  assert.ok(performance.now() - t0 < 200);
  assert.deepEqual(n.shape(big), [1 << 20, 1 << 20]);
  assert.deepEqual(n.shape(r), [2 ** 40]);
  assert.deepEqual(n.shape(s), [2]);
});

test('If: both branches are inferred with the outer values in scope, and dims that agree are kept', () => {
  const n = new Net();
  const x = n.input('x', 'float32', ['N', 4]);
  const mkGraph = (out: string, nodes: Node[]): AttrValue => ({
    type: 'graph',
    value: { name: 'b', nodes, values: new Map(nodes.flatMap((nd) => nd.outputs).map((o) => [o, { name: o, type: null }])), inputs: [], outputs: [out], initializers: new Map() },
  });
  const node = (id: string, op: string, inputs: string[], outputs: string[]): Node => ({ id, name: id, opType: op, domain: '', inputs, outputs, attrs: {}, layer: '' });
  const [y] = n.op('If', [n.input('cond', 'bool', [])]);
  const ifNode = n.model.graph.nodes[0];
  ifNode.attrs.then_branch = mkGraph('t', [node('r', 'Relu', [x], ['t'])]);
  ifNode.attrs.else_branch = mkGraph('e', [node('s', 'Sigmoid', [x], ['e'])]);
  n.infer();
  assert.deepEqual(n.type(y), { dtype: 'float32', shape: ['N', 4] });
  assert.deepEqual(n.model.warnings, []);
});

test('the extra operators users need: norms, Tile, Pad, Resize, TopK, ArgMax, reductions, logic, activations', () => {
  const n = new Net(18);
  const x = n.input('x', 'float32', ['N', 4, 6, 8]);
  const f = n.input('f', 'float32', [4]);
  const cases: [string, Shape, DType][] = [];
  const expect = (name: string, shape: Shape, dtype: DType = 'float32'): void => void cases.push([name, shape, dtype]);
  expect(n.one('InstanceNormalization', [x, f, f]), ['N', 4, 6, 8]);
  expect(n.one('Tile', [x, n.ints('rep', [1, 2, 1, 3])]), ['N', 8, 6, 24]);
  expect(n.one('Pad', [x, n.ints('pads', [0, 0, 1, 2, 0, 0, 1, 2])]), ['N', 4, 8, 12]);
  expect(n.one('Pad', [x, n.ints('pads2', [1, 1]), '', n.ints('pax', [-1])]), ['N', 4, 6, 10]);
  const scales = n.input('sc', 'float32', [4]);
  n.model.graph.initializers.set('sc', { name: 'sc', dtype: 'float32', dims: [4], source: { kind: 'inline', proto: { floatData: [1, 1, 2, 2] } } });
  expect(n.one('Resize', [x, '', scales]), ['N', 4, 12, 16]);
  expect(n.one('Resize', [x, '', '', n.ints('sizes', [3, 5])], { axes: [2, 3] }), ['N', 4, 3, 5]);
  const [vals, idx] = n.op('TopK', [x, n.ints('k', [3])], { axis: 1 }, 2);
  expect(vals, ['N', 3, 6, 8]);
  expect(idx, ['N', 3, 6, 8], 'int64');
  expect(n.one('ArgMax', [x], { axis: -1, keepdims: 0 }), ['N', 4, 6], 'int64');
  expect(n.one('ReduceMax', [x, n.ints('rmax', [1, 2])]), ['N', 1, 1, 8]);
  const row = n.input('row', 'float32', [8]);
  expect(n.one('Min', [row, x]), ['N', 4, 6, 8]);
  expect(n.one('Max', [x, n.input('col', 'float32', [6, 1])]), ['N', 4, 6, 8]);
  const lt = n.one('Less', [x, row]);
  expect(lt, ['N', 4, 6, 8], 'bool');
  expect(n.one('Greater', [x, row]), ['N', 4, 6, 8], 'bool');
  expect(n.one('And', [lt, n.one('Not', [lt])]), ['N', 4, 6, 8], 'bool');
  for (const op of ['LeakyRelu', 'Softplus', 'Abs', 'Reciprocal', 'Floor', 'Ceil', 'HardSwish', 'Gelu']) expect(n.one(op, [x]), ['N', 4, 6, 8]);
  expect(n.one('Mod', [n.input('i', 'int32', [5]), n.input('j', 'int32', [])]), [5], 'int32');
  expect(n.one('ConvTranspose', [x, n.input('wt', 'float32', [4, 3, 3, 3])], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }), ['N', 3, 12, 16]);
  expect(n.one('Gemm', [n.input('a', 'float32', [7, 'K']), n.input('b', 'float32', [9, 'K'])], { transB: 1 }), [7, 9]);
  const labels = n.input('labels', 'int64', ['N', 6, 8]);
  const [loss, logp] = n.op('SoftmaxCrossEntropyLoss', [x, labels], { reduction: 'none' }, 2);
  expect(loss, ['N', 6, 8]);
  expect(logp, ['N', 4, 6, 8]);
  expect(n.one('SoftmaxCrossEntropyLoss', [x, labels]), []);
  expect(n.one('Trilu', [x, n.ints('kk', [1], [])]), ['N', 4, 6, 8]);
  expect(n.one('CastLike', [x, n.input('h', 'float16', [])]), ['N', 4, 6, 8], 'float16');
  n.infer();
  assert.deepEqual(n.model.warnings, []);
  for (const [name, shape, dtype] of cases) assert.deepEqual(n.type(name), { dtype, shape }, name);
});

test('Einsum and the quantized operators', () => {
  const n = new Net(13);
  const q = n.input('q', 'float32', ['B', 8, 'T', 16]);
  const k = n.input('k', 'float32', ['B', 8, 'S', 16]);
  const einsum = (eq: string, ins: string[]): string => {
    const y = n.one('Einsum', ins);
    n.model.graph.nodes[n.model.graph.nodes.length - 1].attrs.equation = { type: 'string', value: eq };
    return y;
  };
  const scores = einsum('bhtd,bhsd->bhts', [q, k]);
  const ell = einsum('...td,...sd->...ts', [q, k]);
  const implicit = einsum('ij,jk', [n.input('a', 'float32', [3, 4]), n.input('b', 'float32', [4, 5])]);
  const x = n.input('x', 'float32', ['N', 3, 8, 8]);
  const scale = n.input('s', 'float32', []);
  const xq = n.one('QuantizeLinear', [x, scale, n.input('zp', 'int8', [])]);
  const xd = n.one('DequantizeLinear', [xq, scale]);
  const [dq, ds, dz] = n.op('DynamicQuantizeLinear', [x], {}, 3);
  const mmi = n.one('MatMulInteger', [n.input('ai', 'uint8', ['M', 32]), n.input('bi', 'int8', [32, 10])]);
  const w = n.input('w', 'uint8', [4, 3, 3, 3]);
  const u8 = n.input('u8', 'uint8', ['N', 3, 8, 8]);
  const qconv = n.one('QLinearConv', [u8, scale, n.input('xz', 'uint8', []), w, scale, n.input('wz', 'uint8', []), scale, n.input('yz', 'uint8', [])]);
  n.infer();
  assert.deepEqual(n.model.warnings, []);
  assert.deepEqual(n.shape(scores), ['B', 8, 'T', 'S']);
  assert.deepEqual(n.shape(ell), ['B', 8, 'T', 'S']);
  assert.deepEqual(n.shape(implicit), [3, 5]);
  assert.deepEqual(n.type(xq), { dtype: 'int8', shape: ['N', 3, 8, 8] });
  assert.deepEqual(n.type(xd), { dtype: 'float32', shape: ['N', 3, 8, 8] });
  assert.deepEqual([dq, ds, dz].map((o) => n.type(o)), [{ dtype: 'uint8', shape: ['N', 3, 8, 8] }, { dtype: 'float32', shape: [] }, { dtype: 'uint8', shape: [] }]);
  assert.deepEqual(n.type(mmi), { dtype: 'int32', shape: ['M', 10] });
  assert.deepEqual(n.type(qconv), { dtype: 'uint8', shape: ['N', 4, 6, 6] });
});

test('old opsets: attributes that later became inputs (Reshape-1, Slice-1, Pad-2, TopK-1, Upsample-7, BatchNormalization-7)', () => {
  const n = new Net(7);
  const x = n.input('x', 'float32', ['N', 4, 6, 8]);
  const r = n.one('Reshape', [x], { shape: [0, -1] });
  const s = n.one('Slice', [x], { starts: [1, -3], ends: [3, 1000], axes: [1, 3] });
  const p = n.one('Pad', [x], { pads: [0, 0, 1, 1, 0, 0, 1, 1] });
  const [v, i] = n.op('TopK', [x], { k: 2 }, 2);
  const u = n.one('Upsample', [x], { scales: { type: 'floats', value: [1, 1, 2, 3] } });
  const bn = n.op('BatchNormalization', [x, ...['a', 'b', 'c', 'd'].map((p) => n.input(p, 'float32', [4]))], {}, 5);
  const [d, mask] = n.op('Dropout', [x], {}, 2);
  n.infer();
  assert.deepEqual(n.model.warnings, []);
  assert.deepEqual(n.shape(r), ['N', 192]);
  assert.deepEqual(n.shape(s), ['N', 2, 6, 3]);
  assert.deepEqual(n.shape(p), ['N', 4, 8, 10]);
  assert.deepEqual([n.shape(v), n.type(i)!.dtype], [['N', 4, 6, 2], 'int64']);
  assert.deepEqual(n.shape(u), ['N', 4, 12, 24]);
  assert.deepEqual(bn.map((o) => n.shape(o)), [['N', 4, 6, 8], [4], [4], [4], [4]]);
  assert.deepEqual([n.shape(d), n.type(mask)!.dtype], [['N', 4, 6, 8], 'float32']);
});
