// The reference runtime's executor: runs an IR graph node by node through the kernel registry. Values
// are reference-counted so an intermediate is dropped after its last consumer, which keeps a training
// step's memory close to what the graph really needs at once.

import type { Graph, Initializer, Node } from '../ir/graph';
import type { Tensor } from '../ir/tensor';
import { loadInitializer } from '../onnx/tensorData';
import { ModelError } from '../onnx/errors';
import { findKernel } from './kernel';
import { isControlFlow, nodeDeps, runControlFlow } from './control';

export interface ExecuteOptions {
  /** Values to return (default: graph outputs). */
  outputs?: string[];
  /** Tensors that override/supply initializers (e.g. current parameter values during training). */
  overrides?: Map<string, Tensor>;
  /** Opsets of the model (default {'': 17}). */
  opsets?: Record<string, number>;
  /** If set, called with every computed value (for debugging/tests). */
  onValue?: (name: string, t: Tensor) => void;
}

// Initializers are decoded once per graph; the Initializer object is kept so a graph whose initializer
// was replaced (same name, new object) is reloaded rather than served stale data.
const initCache = new WeakMap<Graph, Map<string, { init: Initializer; tensor: Tensor }>>();

export function initializerTensor(graph: Graph, name: string): Tensor | undefined {
  const init = graph.initializers.get(name);
  if (!init) return undefined;
  let cache = initCache.get(graph);
  if (!cache) initCache.set(graph, (cache = new Map()));
  const hit = cache.get(name);
  if (hit && hit.init === init) return hit.tensor;
  const tensor = loadInitializer(init);
  cache.set(name, { init, tensor });
  return tensor;
}

/** Opset of a node's domain: the model's, else 17 for the default domain and 1 for others. */
function opsetOf(opsets: Record<string, number>, domain: string): number {
  if (domain === '' || domain === 'ai.onnx') return opsets[''] ?? opsets['ai.onnx'] ?? 17;
  return opsets[domain] ?? 1;
}

const describe = (n: Node): string => `node "${n.name || n.id}" (${n.domain ? n.domain + '::' : ''}${n.opType})`;

/**
 * The nodes needed for `wanted`, in an order where every node comes after the producers of its inputs:
 * the graph's own order when it is valid, else a depth-first order from the outputs. Values in
 * `available` (feeds, overrides, initializers) need no producer.
 */
export function scheduleNodes(graph: Graph, wanted: readonly string[], available: (name: string) => boolean): Node[] {
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o !== '') producer.set(o, n);

  // Depth-first from the wanted values, post-order: producers before consumers, unneeded nodes skipped.
  const order: Node[] = [];
  const state = new Map<Node, 1 | 2>(); // 1: on the stack, 2: done
  const visitValue = (name: string, consumer: string): void => {
    if (name === '' || available(name)) return;
    const p = producer.get(name);
    if (!p) throw new ModelError(`value "${name}" needed by ${consumer} is neither fed, an initializer, nor produced by a node; feed it or fix the graph`);
    visitNode(p);
  };
  const visitNode = (root: Node): void => {
    // Iterative to survive graphs thousands of nodes deep.
    const stack: { node: Node; deps: string[]; i: number }[] = [{ node: root, deps: nodeDeps(root), i: 0 }];
    if (state.get(root) === 2) return;
    state.set(root, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const ins = top.deps;
      if (top.i < ins.length) {
        const name = ins[top.i++];
        if (name === '' || available(name)) continue;
        const p = producer.get(name);
        if (!p) throw new ModelError(`value "${name}" needed by ${describe(top.node)} is neither fed, an initializer, nor produced by a node; feed it or fix the graph`);
        const s = state.get(p);
        if (s === 2) continue;
        if (s === 1) throw new ModelError(`the graph has a cycle through ${describe(p)}; ONNX graphs must be acyclic`);
        state.set(p, 1);
        stack.push({ node: p, deps: nodeDeps(p), i: 0 });
      } else {
        state.set(top.node, 2);
        order.push(top.node);
        stack.pop();
      }
    }
  };
  for (const w of wanted) visitValue(w, 'the requested outputs');

  // When the file's order is already valid, keep it (restricted to the needed nodes): the order is the
  // memory schedule, and reordering passes must see their order executed as written.
  const index = new Map<Node, number>();
  graph.nodes.forEach((n, i) => index.set(n, i));
  const needed = order.slice().sort((a, b) => index.get(a)! - index.get(b)!);
  const inFileOrder = needed.every((n) => nodeDeps(n).every((d) => {
    if (d === '' || available(d)) return true;
    return index.get(producer.get(d)!)! < index.get(n)!;
  }));
  return inFileOrder ? needed : order;
}

/**
 * Reference counting done ahead of time: `used` holds every value some scheduled node or the caller
 * needs; release[i] lists the values whose last reader is order[i], dropped right after it runs so an
 * intermediate lives only as long as the graph needs it. Requested outputs are never released.
 */
export function releasePlan(order: readonly Node[], keep: readonly string[]): { used: Set<string>; release: string[][] } {
  const last = new Map<string, number>();
  order.forEach((n, i) => {
    for (const d of nodeDeps(n)) if (d !== '') last.set(d, i);
  });
  const used = new Set<string>([...last.keys(), ...keep]);
  for (const k of keep) last.delete(k);
  const release: string[][] = order.map(() => []);
  for (const [name, i] of last) release[i].push(name);
  return { used, release };
}

export function execute(
  graph: Graph,
  feeds: Map<string, Tensor> | Record<string, Tensor>,
  opts: ExecuteOptions = {},
): Map<string, Tensor> {
  const feedMap = feeds instanceof Map ? feeds : new Map(Object.entries(feeds));
  const overrides = opts.overrides ?? new Map<string, Tensor>();
  const opsets = opts.opsets ?? { '': 17 };
  const wanted = opts.outputs ?? graph.outputs;

  const isSource = (name: string): boolean => feedMap.has(name) || overrides.has(name) || graph.initializers.has(name);
  const order = scheduleNodes(graph, wanted, isSource);

  const { used, release } = releasePlan(order, wanted);

  const live = new Map<string, Tensor>();
  const lookup = (name: string): Tensor | undefined => {
    const t = live.get(name) ?? feedMap.get(name) ?? overrides.get(name);
    if (t) return t;
    return initializerTensor(graph, name);
  };

  const runSubgraph = (g: Graph, subFeeds: Map<string, Tensor>): Map<string, Tensor> => execute(g, subFeeds, { opsets, overrides });

  let step = 0;
  for (const node of order) {
    const control = isControlFlow(node);
    const kernel = control ? undefined : findKernel(node.opType, node.domain);
    if (!kernel && !control) {
      throw new ModelError(`${describe(node)}: the reference runtime has no kernel for ${node.domain ? node.domain + '::' : ''}${node.opType}`);
    }
    const inputs = node.inputs.map((name) => {
      if (name === '') return undefined;
      const t = lookup(name);
      if (!t) throw new ModelError(`${describe(node)}: input "${name}" has no value`);
      return t;
    });
    let outs: Tensor[];
    try {
      outs = control ? runControlFlow(node, inputs, lookup, runSubgraph) : kernel!(inputs, node, { opset: opsetOf(opsets, node.domain) });
    } catch (e) {
      const err = e as Error;
      const inShapes = inputs.map((t) => (t ? `${t.dtype}[${t.dims.join(',')}]` : '-')).join(', ');
      throw new ModelError(`${describe(node)} failed on inputs (${inShapes}): ${err.message}`);
    }
    node.outputs.forEach((name, k) => {
      if (name === '') return;
      const t = outs[k];
      if (!t) {
        if (used.has(name)) throw new ModelError(`${describe(node)}: output ${k} ("${name}") is used but the kernel did not produce it`);
        return;
      }
      opts.onValue?.(name, t);
      if (used.has(name)) live.set(name, t);
    });
    for (const name of release[step]) live.delete(name);
    step++;
  }

  const result = new Map<string, Tensor>();
  for (const w of wanted) {
    const t = lookup(w);
    if (!t) throw new ModelError(`output "${w}" was not computed`);
    result.set(w, t);
  }
  return result;
}
