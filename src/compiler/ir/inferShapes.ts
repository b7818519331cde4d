// Shape inference: gives every value of the graph a dtype and a shape, in one pass over the nodes in
// dependency order. Each operator family's rules live in ./infer; this file walks the graph, tracks the
// small constants that PyTorch's shape computations pass around (Shape -> Gather -> Concat -> Reshape),
// merges what it infers with the types the file declares, and turns what it cannot infer into warnings
// instead of failures, so that one odd node never stops a model from opening.

import { defaultOpset, type Graph, type Model, type Node, type Value, type ValueType } from './graph';
import type { DType } from './dtype';
import type { Dim, Shape } from './shape';
import { type ConstVal, type InferCtx, MAX_CONST_ELEMS, numel } from './infer/context';
import { initializerValue } from './infer/constants';
import { ruleFor } from './infer/registry';

/** Symbolic dims longer than this (sums of sums from a hostile graph) are renamed rather than grown. */
const MAX_SYMBOL_LENGTH = 96;

export function inferShapes(model: Model): void {
  const run = new Inference(defaultOpset(model), model.warnings);
  run.graph(model.graph, null);
}

/** Whether shape inference has a rule for this operator. */
export function isKnownOp(opType: string, domain = ''): boolean {
  return ruleFor(opType, domain) !== undefined;
}

/** A graph's values seen from inside it: its own first, then the enclosing graphs'. */
interface Scope {
  graph: Graph;
  /** Names defined in this graph (inputs, initializers, node outputs). */
  local: Set<string>;
  parent: Scope | null;
}

class Inference {
  /** Known small-tensor values by value name; null records "looked, not a constant". */
  private readonly consts = new Map<string, ConstVal | null>();
  /** Symbolic dims this pass made up; a declared name beats them. */
  private readonly freshDims = new Set<string>();

  constructor(readonly opset: number, private readonly warnings: string[]) {}

  graph(g: Graph, parent: Scope | null): void {
    const local = new Set<string>([...g.inputs, ...g.initializers.keys()]);
    for (const n of g.nodes) for (const o of n.outputs) if (o) local.add(o);
    const scope: Scope = { graph: g, local, parent };
    for (const node of dependencyOrder(g)) this.node(node, scope);
    for (const v of g.values.values()) {
      if (!v.type && local.has(v.name)) v.type = { dtype: 'undefined', shape: null };
    }
  }

  private lookup(name: string, scope: Scope): Value | undefined {
    for (let s: Scope | null = scope; s; s = s.parent) {
      if (s.local.has(name)) return s.graph.values.get(name);
    }
    return scope.graph.values.get(name);
  }

  private constOf(name: string, scope: Scope): ConstVal | undefined {
    const known = this.consts.get(name);
    if (known !== undefined) return known ?? undefined;
    for (let s: Scope | null = scope; s; s = s.parent) {
      if (!s.local.has(name)) continue;
      const init = s.graph.initializers.get(name);
      const v = init ? initializerValue(init) : undefined;
      this.consts.set(name, v ?? null);
      return v;
    }
    return undefined;
  }

  private maybeConst(name: string, scope: Scope): boolean {
    const known = this.consts.get(name);
    if (known !== undefined) return known !== null;
    for (let s: Scope | null = scope; s; s = s.parent) {
      if (s.local.has(name)) return s.graph.initializers.has(name);
    }
    return false;
  }

  private node(node: Node, scope: Scope): void {
    const declared = node.outputs.map((o) => (o ? scope.graph.values.get(o)?.type ?? null : null));
    const rule = ruleFor(node.opType, node.domain);
    const firstType = node.inputs[0] ? this.lookup(node.inputs[0], scope)?.type ?? null : null;
    let inferred: (ValueType | null)[] = [];
    if (!rule) {
      const op = node.domain ? `${node.domain}.${node.opType}` : node.opType;
      this.warnings.push(`unknown operator "${op}" at node "${node.id}": it is kept, and its outputs keep the types the file declares`);
    } else {
      try {
        inferred = rule(this.context(node, scope));
        inferred.forEach((t, k) => t && this.checkDims(t, node, k));
      } catch (e) {
        this.warnings.push(`shape inference failed at node "${node.id}" (${node.opType}): ${(e as Error).message}`);
        for (const o of node.outputs) this.consts.delete(o);
        inferred = [];
      }
    }
    node.outputs.forEach((name, k) => {
      if (!name) return;
      const v = scope.graph.values.get(name);
      if (!v) return;
      const fallback: ValueType = declared[k] ?? { dtype: firstType?.dtype ?? 'undefined', shape: null };
      v.type = inferred[k] ? this.merge(inferred[k]!, declared[k], name, node) : fallback;
    });
  }

  private context(node: Node, scope: Scope): InferCtx {
    return new NodeContext(this, node, scope);
  }

  typeOf(name: string, scope: Scope): ValueType | null {
    return name ? this.lookup(name, scope)?.type ?? null : null;
  }

  valueOf(name: string, scope: Scope): ConstVal | undefined {
    return name ? this.constOf(name, scope) : undefined;
  }

  mayHaveValue(name: string, scope: Scope): boolean {
    return !!name && this.maybeConst(name, scope);
  }

  freshDim(node: Node, k: number, d: number): string {
    const name = k === 0 ? `${node.id}_d${d}` : `${node.id}_${k}_d${d}`;
    this.freshDims.add(name);
    return name;
  }

  recordValue(name: string | undefined, v: ConstVal): void {
    if (name && v.dims.length <= 8 && numel(v.dims) <= MAX_CONST_ELEMS && v.data.length === numel(v.dims)) this.consts.set(name, v);
  }

  subgraph(g: Graph, inputTypes: (ValueType | null)[], scope: Scope): (ValueType | null)[] {
    g.inputs.forEach((name, i) => {
      const v = g.values.get(name);
      const given = inputTypes[i];
      if (v && given && (!v.type || !v.type.shape)) v.type = { dtype: given.dtype, shape: given.shape ? given.shape.slice() : null };
    });
    this.graph(g, scope);
    return g.outputs.map((o) => g.values.get(o)?.type ?? null);
  }

  /**
   * Guards against what a corrupt file can make a rule compute: sizes that are not integers a JS number
   * holds exactly fail the node; symbolic expressions that grow without bound become a fresh name.
   */
  private checkDims(t: ValueType, node: Node, k: number): void {
    if (!t.shape) return;
    t.shape.forEach((d, i) => {
      if (typeof d === 'number') {
        if (!Number.isSafeInteger(d) || d < 0) throw new Error(`output ${k} would have dimension ${d}, which is not a valid size`);
      } else if (d.length > MAX_SYMBOL_LENGTH) t.shape![i] = this.freshDim(node, k, i);
    });
  }

  /** Inferred and declared types: inferred numbers win, declared names beat made-up ones. */
  private merge(inf: ValueType, decl: ValueType | null, name: string, node: Node): ValueType {
    if (!decl) return inf;
    const dtype = inf.dtype === 'undefined' ? decl.dtype : inf.dtype;
    if (decl.dtype !== 'undefined' && inf.dtype !== 'undefined' && decl.dtype !== inf.dtype) {
      this.warnings.push(`value "${name}" is declared ${decl.dtype} but node "${node.id}" produces ${inf.dtype}; using ${inf.dtype}`);
    }
    if (!inf.shape) return { dtype, shape: decl.shape };
    if (!decl.shape) return { dtype, shape: inf.shape };
    if (inf.shape.length !== decl.shape.length) {
      this.warnings.push(`value "${name}" is declared with rank ${decl.shape.length} but node "${node.id}" produces rank ${inf.shape.length}; using the inferred shape`);
      return { dtype, shape: inf.shape };
    }
    let conflict = false;
    const shape = inf.shape.map((d, i): Dim => {
      const e = decl.shape![i];
      if (typeof d === 'number') {
        if (typeof e === 'number' && e !== d) conflict = true;
        return d;
      }
      if (typeof e === 'number') return e;
      const declaredIsMadeUp = e === `${name}_d${i}`;
      return this.freshDims.has(d) && !declaredIsMadeUp ? e : d;
    });
    if (conflict) {
      this.warnings.push(`value "${name}" is declared [${decl.shape}] but node "${node.id}" produces [${inf.shape}]; using the inferred shape`);
    }
    return { dtype, shape };
  }
}

/** What one rule sees; a class rather than closures, since it is made once per node. */
class NodeContext implements InferCtx {
  readonly opset: number;
  readonly numInputs: number;

  constructor(private readonly run: Inference, readonly node: Node, private readonly scope: Scope) {
    this.opset = run.opset;
    this.numInputs = node.inputs.length;
  }

  has(i: number): boolean {
    return !!this.node.inputs[i];
  }

  type(i: number): ValueType | null {
    return this.run.typeOf(this.node.inputs[i] ?? '', this.scope);
  }

  shape(i: number): Shape {
    return this.type(i)?.shape ?? null;
  }

  dtype(i: number): DType {
    return this.type(i)?.dtype ?? 'undefined';
  }

  value(i: number): ConstVal | undefined {
    return this.run.valueOf(this.node.inputs[i] ?? '', this.scope);
  }

  maybeValue(i: number): boolean {
    return this.run.mayHaveValue(this.node.inputs[i] ?? '', this.scope);
  }

  fresh(k: number, d: number): string {
    return this.run.freshDim(this.node, k, d);
  }

  setValue(k: number, v: ConstVal): void {
    this.run.recordValue(this.node.outputs[k], v);
  }

  subgraph(g: Graph, inputTypes: (ValueType | null)[]): (ValueType | null)[] {
    return this.run.subgraph(g, inputTypes, this.scope);
  }
}

/**
 * The nodes in an order where every producer comes before its consumers. ONNX requires files to be
 * sorted already, so the common case is one linear check; otherwise Kahn's algorithm, with nodes caught
 * in a cycle appended in file order.
 */
function dependencyOrder(g: Graph): Node[] {
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => o && producer.set(o, i)));
  let sorted = true;
  const done = new Set<string>();
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i && producer.has(i) && !done.has(i)) sorted = false;
    if (!sorted) break;
    for (const o of n.outputs) if (o) done.add(o);
  }
  if (sorted) return g.nodes;
  const indeg = new Array<number>(g.nodes.length).fill(0);
  const users: number[][] = g.nodes.map(() => []);
  g.nodes.forEach((n, j) => {
    for (const i of new Set(n.inputs)) {
      const p = i ? producer.get(i) : undefined;
      if (p !== undefined && p !== j) {
        indeg[j]++;
        users[p].push(j);
      }
    }
  });
  const order: number[] = [];
  const queue = indeg.flatMap((d, j) => (d === 0 ? [j] : []));
  for (let q = 0; q < queue.length; q++) {
    const j = queue[q];
    order.push(j);
    for (const u of users[j]) if (--indeg[u] === 0) queue.push(u);
  }
  const placed = new Set(order);
  g.nodes.forEach((_, j) => !placed.has(j) && order.push(j));
  return order.map((j) => g.nodes[j]);
}
