// Model -> the whole training step as one IR graph: forward, loss, backward and optimizer, every node
// tagged with its phase, and each forward node linked to the backward nodes that differentiate it (the
// views highlight one from the other). Sparse schemes, scheduling, planning and code generation all start
// from this.

import type { Graph, Model, Node } from '../ir/graph';
import { attrs, emptyAnnotations, GraphEditor, type Phase, type TrainingAnnotations } from './builder';
import { appendLoss, type AppendedLoss, type LossSpec } from './loss';
import { differentiate, differentiableInputs, type GradIssue } from './autodiff';
import { appendOptimizer, type OptimizerSpec, type OptimizerStateValue } from './optimizer';
import { batchNormTrains } from './rules';
import { defaultOpset } from '../ir/graph';

export interface TrainingOptions {
  loss?: LossSpec;
  /** Omit for gradients only (no optimizer nodes). */
  optimizer?: OptimizerSpec;
  /** Which parameters train (default: all). */
  trainable?: (param: string) => boolean;
  /** 'train': batch statistics (PyTorch train()); 'frozen': running statistics; 'model': as exported. */
  batchNorm?: 'train' | 'frozen' | 'model';
  /** Layer of a parameter (from the layer tree); '' when omitted. */
  paramLayer?: (param: string) => string;
}

export interface TrainingGraph {
  /** The whole step. Its outputs: loss, then gradients (no optimizer) or updated parameters and state. */
  graph: Graph;
  opsets: Record<string, number>;
  ann: TrainingAnnotations;
  /** Every parameter of the model (float initializers feeding differentiable inputs). */
  params: string[];
  trainable: string[];
  /** Trainable parameter -> value of its gradient. */
  grads: Map<string, string>;
  loss: AppendedLoss;
  /** Inputs the user feeds (model inputs, then the labels/targets). */
  dataInputs: string[];
  updated: Map<string, string>;
  state: OptimizerStateValue[];
  /** BatchNorm running statistic (initializer) -> value of its update from a train-mode forward. */
  bufferUpdates: Map<string, string>;
  issues: GradIssue[];
  nodeCount: Record<Phase, number>;
}

const FLOATS = new Set(['float32', 'float64', 'float16', 'bfloat16']);

/**
 * Parameters: float initializers read through a differentiable input slot. That leaves out BatchNorm
 * running statistics, shape/index constants and exponents of Pow-like constants only when their slot is
 * not differentiable; rank-0 float initializers are treated as exporter constants (an eps, a scale).
 */
export function findParameters(graph: Graph): string[] {
  const found = new Set<string>();
  for (const n of graph.nodes) {
    for (const i of differentiableInputs(n)) {
      const v = n.inputs[i];
      const init = v ? graph.initializers.get(v) : undefined;
      if (init && FLOATS.has(init.dtype) && init.dims.length > 0) found.add(v);
    }
  }
  return [...graph.initializers.keys()].filter((k) => found.has(k));
}

function cloneGraph(g: Graph): Graph {
  return {
    ...g, nodes: g.nodes.slice(), values: new Map([...g.values].map(([k, v]) => [k, { ...v }])),
    inputs: g.inputs.slice(), outputs: g.outputs.slice(), initializers: new Map(g.initializers),
  };
}

/** BatchNormalization nodes switched to batch statistics (PyTorch train()), the form the fixtures' gradients use. */
function trainBatchNorm(g: Graph, opset: number): void {
  g.nodes = g.nodes.map((n): Node => {
    if (n.opType !== 'BatchNormalization' || batchNormTrains(n, opset)) return n;
    if (opset >= 14) return { ...n, attrs: { ...n.attrs, training_mode: attrs.int(1) } };
    // BN-9..13 signals training mode by asking for the running statistics.
    const extra = ['running_mean', 'running_var'].map((k) => {
      const v = `${n.id}/${k}`;
      g.values.set(v, { name: v, type: null });
      return v;
    });
    return { ...n, outputs: [n.outputs[0], ...extra] };
  });
}

/** BatchNormalization nodes switched to running statistics (inference form), as on-device fine-tuning does. */
function freezeBatchNorm(g: Graph, opset: number): void {
  const used = new Set<string>();
  for (const n of g.nodes) for (const i of n.inputs) used.add(i);
  for (const o of g.outputs) used.add(o);
  g.nodes = g.nodes.map((n): Node => {
    if (n.opType !== 'BatchNormalization' || !batchNormTrains(n, opset)) return n;
    if (n.outputs.slice(1).some((o) => o && used.has(o))) return n;
    const a = { ...n.attrs };
    if (opset >= 14) a.training_mode = attrs.int(0);
    return { ...n, outputs: [n.outputs[0]], attrs: a };
  });
}

export function buildTrainingGraph(model: Model, opts: TrainingOptions = {}): TrainingGraph {
  const graph = cloneGraph(model.graph);
  const opset = defaultOpset(model);
  if (opts.batchNorm === 'frozen') freezeBatchNorm(graph, opset);
  if (opts.batchNorm === 'train') trainBatchNorm(graph, opset);
  const ann = emptyAnnotations(graph, 'forward');
  const ed = new GraphEditor(graph, ann);
  const modelInputs = graph.inputs.slice();

  const params = findParameters(graph);
  const trainable = opts.trainable ? params.filter(opts.trainable) : params;
  const loss = appendLoss(ed, opts.loss);
  const layerOf = opts.paramLayer ?? ((): string => '');
  const { grads, issues } = differentiate(ed, graph, { loss: loss.loss, wrt: trainable, opsets: model.opsets, paramLayer: layerOf });

  const bufferUpdates = new Map<string, string>();
  for (const n of graph.nodes) {
    if (n.opType !== 'BatchNormalization' || !batchNormTrains(n, opset)) continue;
    if (n.outputs[1] && graph.initializers.has(n.inputs[3])) bufferUpdates.set(n.inputs[3], n.outputs[1]);
    if (n.outputs[2] && graph.initializers.has(n.inputs[4])) bufferUpdates.set(n.inputs[4], n.outputs[2]);
  }
  let updated = new Map<string, string>();
  let state: OptimizerStateValue[] = [];
  if (opts.optimizer) {
    const dims = (p: string): number[] => graph.initializers.get(p)!.dims.slice();
    ({ updated, state } = appendOptimizer(ed, grads, opts.optimizer, (p) => ({ layer: layerOf(p), dims: dims(p) })));
    graph.outputs = [loss.loss, ...updated.values(), ...state.map((s) => s.next), ...bufferUpdates.values()];
  } else {
    graph.outputs = [loss.loss, ...grads.values()];
  }
  for (const v of graph.outputs) if (!graph.values.has(v)) graph.values.set(v, { name: v, type: null });

  const nodeCount: Record<Phase, number> = { forward: 0, loss: 0, backward: 0, optimizer: 0 };
  for (const n of graph.nodes) nodeCount[ann.phase.get(n.id) ?? 'forward']++;
  return {
    graph, opsets: { ...model.opsets, pockengine: 1 }, ann, params, trainable, grads, loss,
    dataInputs: [...modelInputs, loss.target], updated, state, bufferUpdates, issues, nodeCount,
  };
}

/** The nodes of one phase, in graph order (the views' Forward / Backward / Optimizer graphs). */
export function phaseNodes(tg: TrainingGraph, phase: Phase | Phase[]): Node[] {
  const want = new Set(Array.isArray(phase) ? phase : [phase]);
  return tg.graph.nodes.filter((n) => want.has(tg.ann.phase.get(n.id) ?? 'forward'));
}
