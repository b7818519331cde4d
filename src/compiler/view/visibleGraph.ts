// Cuts the visible graph out of a GraphIndex for a set of expanded groups: the top-level items, the members
// of every expanded group whose ancestors are expanded too, and the data edges re-attached to the
// outermost collapsed box that hides each end, aggregated per pair of boxes. Linear in the graph's edges,
// so answering an expansion costs milliseconds even for the LLaMA-2-7B-shaped graph.

import type { GraphIndex } from './graphIndex';
import type { ViewEdge, ViewItem, VisibleGraph } from './types';

export function visibleGraph(index: GraphIndex, expandedIds: Iterable<string>): VisibleGraph {
  const wanted = new Set(expandedIds);
  const items: ViewItem[] = [];
  const open: string[] = [];
  const emit = (id: string): void => {
    const g = index.groups.get(id);
    if (g) {
      items.push({
        id, kind: 'group', label: g.label, sublabel: `${g.opCount} op${g.opCount === 1 ? '' : 's'}`, parent: g.parent,
        opCount: g.opCount, expandable: g.members.length > 0, ...(g.unknownCount ? { unknownCount: g.unknownCount } : {}),
      });
      if (wanted.has(id) && g.members.length > 0) {
        open.push(id);
        for (const m of g.members) emit(m);
      }
      return;
    }
    const l = index.leaves.get(id)!;
    items.push({
      id, kind: l.kind, label: l.label, sublabel: l.sublabel, parent: l.parent,
      ...(l.opType !== undefined ? { opType: l.opType } : {}), ...(l.unknown ? { unknown: true } : {}),
    });
  };
  for (const id of index.top) emit(id);
  const isOpen = new Set(open);

  // The visible box standing for an item: itself if every enclosing group is open, else the outermost closed one.
  const repMemo = new Map<string, string>();
  const rep = (id: string): string => {
    const known = repMemo.get(id);
    if (known !== undefined) return known;
    const parent = index.groups.get(id)?.parent ?? index.leaves.get(id)?.parent ?? null;
    let r = id;
    if (parent !== null) {
      const pr = rep(parent);
      r = pr !== parent ? pr : isOpen.has(parent) ? id : parent;
    }
    repMemo.set(id, r);
    return r;
  };

  const byPair = new Map<string, ViewEdge & { values: Set<string> }>();
  for (const e of index.edges) {
    const s = rep(e.source);
    const t = rep(e.target);
    if (s === t) continue;
    const key = `${s}\u0000${t}`;
    const agg = byPair.get(key);
    if (agg) {
      if (!agg.values.has(e.value)) {
        agg.values.add(e.value);
        agg.count++;
      }
    } else {
      byPair.set(key, { id: `${s}\u2192${t}`, source: s, target: t, count: 1, label: index.valueLabel(e.value), values: new Set([e.value]) });
    }
  }
  const edges: ViewEdge[] = [...byPair.values()].map(({ values: _values, ...e }) => e);
  return { items, edges, expanded: open };
}
