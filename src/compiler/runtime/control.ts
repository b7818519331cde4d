// Control flow (Loop, If): run by the executor itself rather than through the kernel registry, because
// their bodies read values of the enclosing graph by name, which a kernel cannot see.

import type { Graph, Node } from '../ir/graph';
import { attr } from '../ir/graph';
import { allocArray, type Tensor } from '../ir/tensor';

export const CONTROL_FLOW = new Set(['Loop', 'If']);

export const isControlFlow = (n: Node): boolean => (n.domain === '' || n.domain === 'ai.onnx') && CONTROL_FLOW.has(n.opType);

const refsCache = new WeakMap<Graph, string[]>();

/** Values a graph (or its nested subgraphs) reads from enclosing scopes. */
export function outerRefs(g: Graph): string[] {
  const hit = refsCache.get(g);
  if (hit) return hit;
  const defined = new Set<string>([...g.inputs, ...g.initializers.keys()]);
  for (const n of g.nodes) for (const o of n.outputs) defined.add(o);
  const refs = new Set<string>();
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i !== '' && !defined.has(i)) refs.add(i);
    for (const sub of subgraphs(n)) for (const r of outerRefs(sub)) if (!defined.has(r)) refs.add(r);
  }
  for (const o of g.outputs) if (!defined.has(o)) refs.add(o);
  const out = [...refs];
  refsCache.set(g, out);
  return out;
}

export function subgraphs(n: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of Object.values(n.attrs)) {
    if (a.type === 'graph') out.push(a.value);
    else if (a.type === 'graphs') out.push(...a.value);
  }
  return out;
}

/** Inputs of a node including the enclosing-scope values its subgraphs read. */
export function nodeDeps(n: Node): string[] {
  const subs = subgraphs(n);
  if (subs.length === 0) return n.inputs;
  return [...n.inputs, ...subs.flatMap(outerRefs)];
}

type RunGraph = (g: Graph, feeds: Map<string, Tensor>) => Map<string, Tensor>;

function scopeFeeds(g: Graph, lookup: (name: string) => Tensor | undefined): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>();
  for (const r of outerRefs(g)) {
    const t = lookup(r);
    if (t) feeds.set(r, t);
  }
  return feeds;
}

function stack(ts: Tensor[]): Tensor {
  if (ts.length === 0) return { dtype: 'float32', dims: [0], data: new Float32Array(0) };
  const first = ts[0];
  const n = first.data.length;
  const data = allocArray(first.dtype, n * ts.length) as { [i: number]: unknown };
  ts.forEach((t, k) => {
    if (t.data.length !== n) throw new Error('Loop scan outputs change shape between iterations');
    for (let i = 0; i < n; i++) data[k * n + i] = t.data[i];
  });
  return { dtype: first.dtype, dims: [ts.length, ...first.dims], data: data as Tensor['data'] };
}

export function runControlFlow(node: Node, inputs: (Tensor | undefined)[], lookup: (name: string) => Tensor | undefined, run: RunGraph): Tensor[] {
  if (node.opType === 'If') {
    const cond = inputs[0];
    if (!cond) throw new Error('If needs a condition');
    const branch = attr(node, cond.data[0] ? 'then_branch' : 'else_branch', 'graph');
    if (!branch) throw new Error('If has no branch graph');
    const out = run(branch, scopeFeeds(branch, lookup));
    return branch.outputs.map((o) => out.get(o)!);
  }
  const body = attr(node, 'body', 'graph');
  if (!body) throw new Error('Loop has no body graph');
  const maxTrips = inputs[0] ? Number(inputs[0].data[0] as number | bigint) : Infinity;
  let cond = inputs[1] ? !!inputs[1].data[0] : true;
  let carried = inputs.slice(2).map((t, i) => {
    if (!t) throw new Error(`Loop carried value ${i} is missing`);
    return t;
  });
  const nCarried = carried.length;
  const scans: Tensor[][] = body.outputs.slice(1 + nCarried).map(() => []);
  const outer = scopeFeeds(body, lookup);
  for (let i = 0; i < maxTrips && cond; i++) {
    const feeds = new Map(outer);
    feeds.set(body.inputs[0], { dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(i)) });
    feeds.set(body.inputs[1], { dtype: 'bool', dims: [], data: Uint8Array.of(cond ? 1 : 0) });
    carried.forEach((t, k) => feeds.set(body.inputs[2 + k], t));
    const out = run(body, feeds);
    const vals = body.outputs.map((o) => out.get(o)!);
    cond = !!vals[0].data[0];
    carried = vals.slice(1, 1 + nCarried);
    vals.slice(1 + nCarried).forEach((t, k) => scans[k].push(t));
  }
  return [...carried, ...scans.map(stack)];
}
