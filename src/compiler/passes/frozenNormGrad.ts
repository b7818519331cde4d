// Part of folding: a BatchNormalization that normalizes with its running statistics and whose scale is
// frozen has, in backward, a per-channel constant derivative: dX = dY · scale / sqrt(var + eps), and the
// bias gradient is ΣdY. The generic BatchNormGrad recomputes from the saved input X for the scale's
// gradient; with the scale frozen nothing needs X, so rewriting the node as a constant multiply (its
// constant computed once, in the prologue) and a reduction means X is never saved for backward — TTE
// folds frozen BatchNorms the same way. Results agree with BatchNormGrad to float32 rounding (it works
// in float64 internally).

import type { Graph, Node } from '../ir/graph';
import { tensor } from '../ir/tensor';
import { tensorToInitializer } from '../onnx/encode';
import type { TrainingGraph } from '../train/trainingGraph';

const f32 = (shape: number[]) => ({ dtype: 'float32' as const, shape });

/** The training graph with frozen inference-mode BatchNormGrad nodes rewritten; null when there are none. */
export function rewriteFrozenNormGrads(tg: TrainingGraph, order: readonly Node[], constant: (v: string) => boolean): { tg: TrainingGraph; order: Node[]; rewritten: Map<string, string[]> } | null {
  const g = tg.graph;
  if ((tg.opsets[''] ?? tg.opsets['ai.onnx'] ?? 17) < 13) return null;
  const readers = new Set<string>();
  for (const n of order) for (const i of n.inputs) readers.add(i);
  for (const o of g.outputs) readers.add(o);
  const used = (v: string | undefined) => !!v && readers.has(v);
  const targets = order.filter((n) => n.opType === 'BatchNormGrad' && n.domain === 'pockengine'
    && n.attrs.training_mode?.type === 'int' && n.attrs.training_mode.value === 0
    && !used(n.outputs[1]) && [2, 3, 4].every((k) => n.inputs[k] && constant(n.inputs[k]))
    && g.values.get(n.inputs[0])?.type?.shape?.length !== undefined);
  if (!targets.length) return null;

  const graph: Graph = { ...g, nodes: g.nodes.slice(), values: new Map(g.values), initializers: new Map(g.initializers) };
  const ann = { phase: new Map(tg.ann.phase), forwardOf: new Map(tg.ann.forwardOf), backwardOf: new Map(tg.ann.backwardOf) };
  const fresh = (base: string): string => {
    let name = base;
    for (let k = 1; graph.values.has(name) || graph.initializers.has(name); k++) name = `${base}_${k}`;
    return name;
  };
  const rewritten = new Map<string, string[]>();
  const shared = new Map<string, string>();
  const replacement = new Map<Node, Node[]>();
  for (const n of targets) {
    // dY has X's shape; X itself may already be gone (pruning drops it when the scale is frozen).
    const rank = graph.values.get(n.inputs[0])!.type!.shape!.length;
    const C = graph.initializers.get(n.inputs[2])?.dims[0] ?? (graph.values.get(n.inputs[2])?.type?.shape?.[0] as number);
    const eps = n.attrs.epsilon?.type === 'float' ? n.attrs.epsilon.value : 1e-5;
    const base = `${n.id}/frozen`;
    const constInit = (suffix: string, t: ReturnType<typeof tensor>): string => {
      // Equal constants (the same eps, shape or axes) are shared by every rewritten node.
      const key = `${t.dtype}[${t.dims}]:${Array.from(t.data as ArrayLike<number | bigint>).join(',')}`;
      const hit = shared.get(key);
      if (hit) return hit;
      const name = fresh(`frozen_bn/${suffix}`);
      shared.set(key, name);
      graph.initializers.set(name, tensorToInitializer(name, t));
      graph.values.set(name, { name, type: { dtype: t.dtype, shape: t.dims.slice() } });
      return name;
    };
    const value = (suffix: string, type: { dtype: 'float32'; shape: (number | string)[] }): string => {
      const name = fresh(`${base}/${suffix}`);
      graph.values.set(name, { name, type });
      return name;
    };
    const mk = (op: string, suffix: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node => {
      const id = fresh(`${base}/${suffix}`);
      const node: Node = { id, name: id, opType: op, domain: '', inputs, outputs, attrs, layer: n.layer };
      ann.phase.set(id, 'backward');
      const f = tg.ann.forwardOf.get(n.id);
      if (f) { ann.forwardOf.set(id, f); ann.backwardOf.set(f, [...(ann.backwardOf.get(f) ?? []), id]); }
      return node;
    };
    const nodes: Node[] = [];
    const [dX, , dB] = n.outputs;
    if (used(dX)) {
      const epsC = constInit('eps', tensor('float32', [], Float32Array.of(eps)));
      const shapeC = constInit('shape', tensor('int64', [rank - 1], BigInt64Array.from([BigInt(C), ...Array(rank - 2).fill(1n)])));
      const ve = value('var_eps', f32([C])), sd = value('std', f32([C])), k = value('k', f32([C])), kr = value('k_b', f32([C, ...Array(rank - 2).fill(1)]));
      nodes.push(
        mk('Add', 'Add', [n.inputs[4], epsC], [ve]), mk('Sqrt', 'Sqrt', [ve], [sd]), mk('Div', 'Div', [n.inputs[2], sd], [k]),
        mk('Reshape', 'Reshape', [k, shapeC], [kr]), mk('Mul', 'Mul', [n.inputs[0], kr], [dX]),
      );
    }
    if (used(dB)) {
      const axes = constInit('axes', tensor('int64', [rank - 1], BigInt64Array.from([0n, ...Array.from({ length: rank - 2 }, (_, i) => BigInt(i + 2))])));
      nodes.push(mk('ReduceSum', 'ReduceSum', [n.inputs[0], axes], [dB], { keepdims: { type: 'int', value: 0 } }));
    }
    replacement.set(n, nodes);
    rewritten.set(n.id, nodes.map((x) => x.id));
    ann.phase.delete(n.id);
    const f = ann.forwardOf.get(n.id);
    if (f) ann.backwardOf.set(f, (ann.backwardOf.get(f) ?? []).filter((id) => id !== n.id));
    ann.forwardOf.delete(n.id);
  }
  graph.nodes = graph.nodes.flatMap((n) => replacement.get(n) ?? [n]);
  const newOrder = order.flatMap((n) => replacement.get(n) ?? [n]);
  return { tg: { ...tg, graph, ann }, order: newOrder, rewritten };
}
