// Reverse-mode autodiff at compile time: walks the forward graph backwards from the loss and, for every
// node on a path from a trainable parameter to the loss, appends the backward nodes its gradient rule
// builds. The result is more IR: the device runs no autograd engine.

import type { Graph, Node } from '../ir/graph';
import type { GraphEditor } from './builder';
import { RULES, NON_DIFFERENTIABLE } from './rules';
import { PE, type GradContext } from './rules/types';

export interface GradIssue {
  node: string;
  opType: string;
  /** Parameters whose gradient would pass through this node and which therefore get none. */
  params: string[];
  message: string;
}

export interface AutodiffResult {
  /** Parameter -> value holding d(loss)/d(parameter). */
  grads: Map<string, string>;
  issues: GradIssue[];
}

export interface AutodiffOptions {
  loss: string;
  /** Gradient seed of the loss (a scalar 1 when omitted). */
  seed?: string;
  wrt: string[];
  opsets: Record<string, number>;
  /** Layer of a parameter (for naming its accumulation nodes). */
  paramLayer?: (param: string) => string;
}

const label = (n: Node): string => `${n.domain ? n.domain + '::' : ''}${n.opType}`;

function shortName(n: Node): string {
  const base = n.name || n.id;
  const seg = base.split('/').filter((s) => s.length > 0).pop() ?? n.opType;
  return seg;
}

export function differentiableInputs(node: Node): number[] {
  const rule = RULES.get(ruleKey(node));
  if (!rule) return NON_DIFFERENTIABLE.has(node.opType) ? [] : node.inputs.map((_, i) => i);
  return rule.differentiable ? rule.differentiable(node) : node.inputs.map((_, i) => i);
}

const ruleKey = (n: Node): string => (n.domain === PE ? `${PE}::${n.opType}` : n.domain === '' || n.domain === 'ai.onnx' ? n.opType : `${n.domain}::${n.opType}`);

export function differentiate(ed: GraphEditor, graph: Graph, opts: AutodiffOptions): AutodiffResult {
  const forwardNodes = graph.nodes.slice();
  const wrt = new Set(opts.wrt);
  const producer = new Map<string, Node>();
  for (const n of forwardNodes) for (const o of n.outputs) if (o) producer.set(o, n);

  // Values that depend on a parameter through differentiable slots.
  const requires = new Set<string>(wrt);
  for (const n of forwardNodes) {
    if (differentiableInputs(n).some((i) => requires.has(n.inputs[i]))) for (const o of n.outputs) if (o) requires.add(o);
  }
  // Values the loss depends on.
  const reaches = new Set<string>([opts.loss]);
  for (let k = forwardNodes.length - 1; k >= 0; k--) {
    const n = forwardNodes[k];
    if (n.outputs.some((o) => reaches.has(o))) for (const i of n.inputs) if (i) reaches.add(i);
  }
  const active = (v: string): boolean => requires.has(v) && reaches.has(v);

  const contributions = new Map<string, string[]>();
  const contribute = (v: string, g: string): void => {
    const list = contributions.get(v);
    if (list) list.push(g);
    else contributions.set(v, [g]);
  };
  const seed = opts.seed ?? ed.constFloat('grad/loss/seed', 1);
  contribute(opts.loss, seed);

  const accumulated = new Map<string, string>();
  const gradOf = (v: string, at: { layer: string; id: string; forward?: string }): string | undefined => {
    const done = accumulated.get(v);
    if (done) return done;
    const list = contributions.get(v);
    if (!list || list.length === 0) return undefined;
    const g = list.length === 1
      ? list[0]
      : ed.add({ op: 'Sum', inputs: list, id: `${at.id}/accumulate`, layer: at.layer, phase: 'backward', forward: at.forward, like: [v] })[0];
    accumulated.set(v, g);
    return g;
  };

  const issues: GradIssue[] = [];
  const blocked: { node: Node; why: string }[] = [];
  for (let k = forwardNodes.length - 1; k >= 0; k--) {
    const node = forwardNodes[k];
    if (!node.outputs.some((o) => o && active(o))) continue;
    const diff = new Set(differentiableInputs(node));
    const needs = (i: number): boolean => diff.has(i) && !!node.inputs[i] && active(node.inputs[i]);
    if (!node.inputs.some((_, i) => needs(i))) continue;
    const base = `grad/${node.layer || 'root'}/${shortName(node)}`;
    const gys = node.outputs.map((o, j) => (o ? gradOf(o, { layer: node.layer, id: `${base}/out${j}`, forward: node.id }) : undefined));
    if (gys.every((g) => g === undefined)) continue;
    const rule = RULES.get(ruleKey(node));
    if (!rule) {
      blocked.push({ node, why: `no gradient rule for ${label(node)}` });
      continue;
    }
    const opset = node.domain === '' || node.domain === 'ai.onnx' ? opts.opsets[''] ?? opts.opsets['ai.onnx'] ?? 17 : opts.opsets[node.domain] ?? 1;
    const where = { layer: node.layer, phase: 'backward' as const, forward: node.id };
    const ctx: GradContext = {
      node, opset, ed,
      gy: (j = 0) => gys[j],
      gyOrZeros: (j) => gys[j] ?? ed.add({ op: 'ConstantOfShape', inputs: [ed.shapeOf(node.outputs[j], { ...where, id: `${base}/out${j}` })], id: `${base}/zeros${j}`, like: [node.outputs[j]], ...where })[0],
      needs,
      x: (i) => node.inputs[i],
      y: (j = 0) => node.outputs[j],
      // Unless a rule says otherwise, a backward value has the shape of the forward output (before any
      // reduction to an input's shape): true of every elementwise intermediate.
      emit: (op, inputs, what, o = {}) => ed.add({ op, inputs, id: `${base}/${what}`, domain: o.domain, attrs: o.attrs, outputs: o.outputs, like: o.like ?? [node.outputs[0]], ...where }),
      emit1: (op, inputs, what, o = {}) => ed.add({ op, inputs, id: `${base}/${what}`, domain: o.domain, attrs: o.attrs, like: o.like ?? [node.outputs[0]], ...where })[0],
      constFloat: (values, dims) => ed.constFloat(`${base}/const`, values, dims),
      constInt64: (values, dims) => ed.constInt64(`${base}/const`, values, dims),
      shapeOf: (v) => ed.shapeOf(v, { ...where, id: `${base}/${v === node.inputs[0] ? 'input' : 'value'}` }),
      reduceTo: (g, i) => {
        const xs = ed.staticDims(node.inputs[i]);
        const ys = ed.staticDims(node.outputs[0]);
        if (xs && ys && xs.length === ys.length && xs.every((d, j) => d === ys[j])) return g;
        return ed.add({ op: 'ReduceToShape', domain: PE, inputs: [g, ctx.shapeOf(node.inputs[i])], id: `${base}/unbroadcast${i}`, like: [node.inputs[i]], ...where })[0];
      },
    };
    let result: (string | undefined)[];
    const before = graph.nodes.length;
    try {
      result = rule.grad(ctx);
    } catch (e) {
      // A form of the operator the rule does not handle: drop its half-built nodes, report it like a missing rule.
      for (const n of graph.nodes.splice(before)) ed.forget(n.id);
      blocked.push({ node, why: (e as Error).message });
      continue;
    }
    node.inputs.forEach((v, i) => {
      const g = result[i];
      if (g && needs(i)) contribute(v, g);
    });
  }

  // A parameter upstream of an unsupported node gets no gradient (a partial one would be silently wrong).
  const poisoned = new Set<string>();
  for (const { node, why } of blocked) {
    const params = upstreamParams(node, producer, wrt);
    for (const p of params) poisoned.add(p);
    issues.push({
      node: node.name || node.id, opType: label(node), params,
      message: `${why} (node "${node.name || node.id}"); parameters that therefore get no gradient: ${params.join(', ') || '(none)'}`,
    });
  }

  const grads = new Map<string, string>();
  for (const p of opts.wrt) {
    if (poisoned.has(p)) continue;
    const layer = opts.paramLayer?.(p) ?? '';
    const g = gradOf(p, { layer, id: `grad/${layer || 'root'}/${p}` });
    if (g) grads.set(p, g);
  }
  return { grads, issues };
}

function upstreamParams(node: Node, producer: Map<string, Node>, wrt: Set<string>): string[] {
  const seen = new Set<string>();
  const found: string[] = [];
  const stack = node.inputs.filter((v) => v);
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (wrt.has(v)) found.push(v);
    const p = producer.get(v);
    if (p) for (const i of differentiableInputs(p)) if (p.inputs[i]) stack.push(p.inputs[i]);
  }
  return found.sort();
}
