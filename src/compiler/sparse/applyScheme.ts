// Scheme + model -> the sparse training step: the full backward (every parameter trainable), the pruned
// step that actually runs (same node ids), why each pruned node is dead, and the compile report's counts.
// Every consumer of a scheme (CLI, views, the plan) starts here.

import type { LoadedModel } from '../loadModel';
import { defaultOpset } from '../ir/graph';
import { buildTrainingGraph, type TrainingGraph } from '../train/trainingGraph';
import type { OptimizerSpec } from '../train/optimizer';
import type { LossSpec } from '../train/loss';
import { resolveScheme, type ParamUpdate } from './resolve';
import { updateFor, type LayerUpdate, type Scheme } from './scheme';
import { pruneTrainingGraph } from './prune';
import { sliceChannels, type ChannelSlice } from './channels';
import { phaseTotals, stepFlops } from './cost';

export interface SparseTraining {
  scheme: Scheme;
  updates: Map<string, ParamUpdate>;
  /** Every parameter trainable: the backward before pruning. */
  full: TrainingGraph;
  /** The pruned step that actually runs. */
  tg: TrainingGraph;
  /** Backward/optimizer node id in `full` -> why it is not in `tg`, naming the frozen layer(s) that made it dead. */
  pruned: Map<string, string>;
  /** Node count and FLOPs of forward, backward (full and after pruning) and optimizer. */
  report: {
    forward: { nodes: number; flops: number };
    backward: { nodes: number; flops: number; nodesBeforePruning: number; flopsBeforePruning: number; prunedNodes: number };
    optimizer: { nodes: number; flops: number };
  };
}

export interface SparseTrainingDetails {
  /** Weights under `channels: r`, with the slice they train. */
  channels: ChannelSlice[];
}

function describe(u: LayerUpdate): string {
  if (u === 'frozen') return 'frozen';
  if (u === 'bias') return 'bias only';
  if (u === 'full') return 'full';
  return `channels ${u.channels}`;
}

interface FullStep {
  full: TrainingGraph;
  fullFlops: Map<string, number>;
  fullTotals: ReturnType<typeof phaseTotals>;
}

// A toggle in the views re-applies a scheme to the same model: the full step depends only on the model, the
// BatchNorm mode, the loss and the optimizer, so it is built once per combination. It is shared between
// results: read-only for every consumer (and so are the nodes `tg` shares with it; copy a node to change it).
const fullSteps = new WeakMap<LoadedModel, Map<string, FullStep>>();

function fullStep(loaded: LoadedModel, batchNorm: Scheme['batchnorm'], opts: { optimizer?: OptimizerSpec; loss?: LossSpec }): FullStep {
  const key = JSON.stringify([batchNorm, opts.optimizer ?? null, opts.loss ?? null]);
  let byKey = fullSteps.get(loaded);
  if (!byKey) fullSteps.set(loaded, (byKey = new Map()));
  let hit = byKey.get(key);
  if (!hit) {
    const paramLayer = (p: string): string => loaded.layers.paramLayer.get(p) ?? '';
    const full = buildTrainingGraph(loaded.model, { loss: opts.loss, optimizer: opts.optimizer, batchNorm, paramLayer });
    const fullFlops = stepFlops(full);
    hit = { full, fullFlops, fullTotals: phaseTotals(full, fullFlops) };
    byKey.set(key, hit);
  }
  return hit;
}

export function applyScheme(loaded: LoadedModel, scheme: Scheme, opts: { optimizer?: OptimizerSpec; loss?: LossSpec } = {}): SparseTraining & SparseTrainingDetails {
  const { model, layers } = loaded;
  const updates = resolveScheme(scheme, model.graph, layers);
  const paramLayer = (p: string): string => layers.paramLayer.get(p) ?? '';
  const { full, fullFlops, fullTotals } = fullStep(loaded, scheme.batchnorm, opts);

  // Parameters outside the layer tree (none in practice) follow the scheme by name.
  const decision = (p: string): ParamUpdate => {
    const known = updates.get(p);
    if (known) return known;
    const u = updateFor(scheme, p, paramLayer(p));
    return { param: p, layer: paramLayer(p), role: 'other', trainable: u !== 'frozen' && u !== 'bias' };
  };
  const trainable = full.params.filter((p) => decision(p).trainable);
  const labels = new Map<string, string>();
  const label = (p: string): string => {
    let l = labels.get(p);
    if (l === undefined) {
      const layer = paramLayer(p);
      l = `${layer || p} (${describe(updateFor(scheme, p, layer))})`;
      labels.set(p, l);
    }
    return l;
  };
  const { tg, pruned } = pruneTrainingGraph(full, trainable, label);

  const channels = new Map<string, number>();
  for (const p of trainable) {
    const r = decision(p).channels;
    if (r !== undefined && r < 1) channels.set(p, r);
  }
  const sliced = channels.size ? sliceChannels(tg, channels, defaultOpset(model)) : [];
  if (sliced.length) {
    tg.nodeCount = { forward: 0, loss: 0, backward: 0, optimizer: 0 };
    for (const n of tg.graph.nodes) tg.nodeCount[tg.ann.phase.get(n.id) ?? 'forward']++;
  }

  const before = fullTotals;
  const after = phaseTotals(tg, stepFlops(tg, { graph: full, flops: fullFlops }));
  let prunedBackward = 0;
  for (const id of pruned.keys()) if (full.ann.phase.get(id) === 'backward') prunedBackward++;
  return {
    scheme, updates, full, tg, pruned, channels: sliced,
    report: {
      forward: after.forward,
      backward: { ...after.backward, nodesBeforePruning: before.backward.nodes, flopsBeforePruning: before.backward.flops, prunedNodes: prunedBackward },
      optimizer: after.optimizer,
    },
  };
}
