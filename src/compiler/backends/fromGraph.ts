// Turns IR nodes in execution order into the plain operator list the assignment works on, with each
// operator's FLOPs, bytes and class from the cost model and the byte size of every tensor it touches.

import type { Graph, Node } from '../ir/graph';
import { dtypeBits } from '../ir/dtype';
import { graphTypeOf, opCost, type TypeOf } from '../cost/flops';
import type { BackendAssignment, ScheduledOp, TensorRef } from './assign';

export interface FromGraphOptions {
  /** Nodes in the order they run; the graph's node order when absent. */
  order?: readonly Node[];
  /** Node id -> phase ('forward', 'loss', 'backward', 'optimizer'). */
  phase?: ReadonlyMap<string, string>;
  /** Gradient node id -> forward node id, so gradient operators are costed like their forward ones. */
  forwardOf?: ReadonlyMap<string, string>;
}

function tensorBytes(typeOf: TypeOf, name: string): number {
  const t = typeOf(name);
  if (!t || t.shape === null) return 0;
  let n = 1;
  for (const d of t.shape) n *= typeof d === 'number' ? d : 1;
  return (n * dtypeBits(t.dtype)) / 8;
}

export function scheduledOpsFromGraph(graph: Graph, opts: FromGraphOptions = {}): ScheduledOp[] {
  const typeOf = graphTypeOf(graph);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const refs = (names: string[]): TensorRef[] => names.filter((n) => n !== '').map((name) => ({ name, bytes: tensorBytes(typeOf, name) }));
  return (opts.order ?? graph.nodes).map((n) => {
    const fwd = opts.forwardOf?.get(n.id);
    const cost = opCost(n, typeOf, { forward: fwd ? byId.get(fwd) : undefined });
    return {
      id: n.id, op: n.opType, layer: n.layer, phase: opts.phase?.get(n.id),
      inputs: refs(n.inputs), outputs: refs(n.outputs), flops: cost.flops, bytes: cost.bytes, opClass: cost.opClass,
    };
  });
}

/** The stable `backends` section of `pockengine compile --json`. */
export function backendsJson(a: BackendAssignment) {
  return {
    profile: a.profile,
    units: a.units.map((u) => ({ unit: u.unit, displayName: u.displayName, ops: u.ops, flops: u.flops, estMs: u.estMs })),
    estStepMs: a.estStepMs,
    computeMs: a.computeMs,
    transferMs: a.transferMs,
    transfers: a.transfers,
    singleUnitMs: a.singleUnitMs,
    exact: a.exact,
    method: a.method,
  };
}
