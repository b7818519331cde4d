// Byte sizes of a graph's values. Symbolic dimensions ("batch", "seq") are bound by the caller; one left
// unbound counts as 1 and is reported, so a size is never silently guessed.

import type { Graph } from '../ir/graph';
import { dtypeBits } from '../ir/dtype';
import type { Dim } from '../ir/shape';

export interface ValueSizer {
  bytesOf(value: string): number;
  elementsOf(value: string): number;
  /** Symbolic dimensions met without a binding (each counted as 1). */
  unbound: Set<string>;
  /** The same binding for a graph a pass derived from this one (sharing `unbound`). */
  forGraph(graph: Graph): ValueSizer;
}

export function valueSizer(graph: Graph, dims: Record<string, number> = {}, unbound = new Set<string>()): ValueSizer {
  const dim = (d: Dim): number => {
    if (typeof d === 'number') return d;
    if (d in dims) return dims[d];
    unbound.add(d);
    return 1;
  };
  const info = (v: string): { n: number; bits: number } => {
    const t = graph.values.get(v)?.type;
    const init = graph.initializers.get(v);
    const shape = t?.shape ?? init?.dims ?? null;
    const dtype = t?.dtype ?? init?.dtype;
    if (!dtype || !shape) return { n: 0, bits: 32 };
    let n = 1;
    for (const d of shape) n *= dim(d);
    return { n, bits: dtypeBits(dtype) };
  };
  const cache = new Map<string, number>();
  return {
    unbound,
    forGraph: (g) => valueSizer(g, dims, unbound),
    elementsOf: (v) => info(v).n,
    bytesOf(v) {
      let b = cache.get(v);
      if (b === undefined) {
        const { n, bits } = info(v);
        cache.set(v, (b = Math.ceil((n * bits) / 8)));
      }
      return b;
    },
  };
}
