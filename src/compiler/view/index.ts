// The graph view model of one loaded model: what the host answers the webview with. Built once per open
// model (the index), then each question is a cheap cut of it.

import type { LoadedModel } from '../loadModel';
import type { Model } from '../ir/graph';
import { ancestorsOf, buildGraphIndex, groupItemId, nodeItemId, type GraphIndex, type IndexOptions } from './graphIndex';
import { nodesUnder } from '../ir/layers';
import { visibleGraph } from './visibleGraph';
import { groupDetails, modelSummary, nodeDetails, search } from './details';
import type { GroupDetails, ModelSummary, NodeDetails, SearchMatch, VisibleGraph } from './types';

export * from './types';
export { MAX_GROUP_ITEMS } from './graphIndex';

export interface GraphViewModel {
  index: GraphIndex;
  summary(): ModelSummary;
  /** The visible graph with the given groups expanded; no groups: collapsed to the top-level layers. */
  visible(expanded?: Iterable<string>): VisibleGraph;
  details(itemId: string): { node: NodeDetails } | { group: GroupDetails } | null;
  search(query: string, limit?: number): { matches: SearchMatch[]; total: number };
  /** The box that shows a layer (its group, or its one operator) and the groups to open to see it. */
  locateLayer(layer: string): { id: string; path: string[] } | null;
}

export function createGraphViewModel(loaded: LoadedModel, opts?: IndexOptions): GraphViewModel {
  return createGraphViewModelFromIndex(loaded.model, buildGraphIndex(loaded.model, loaded.layers, opts));
}

/** The view model over an index already built (the training tabs build theirs from the step's nodes). */
export function createGraphViewModelFromIndex(model: Model, index: GraphIndex): GraphViewModel {
  return {
    index,
    summary: () => modelSummary(model, index),
    visible: (expanded = []) => visibleGraph(index, expanded),
    details: (id) => {
      const g = groupDetails(index, id);
      if (g) return { group: g };
      const n = nodeDetails(index, id);
      return n ? { node: n } : null;
    },
    search: (q, limit) => search(index, q, limit),
    locateLayer: (layer) => {
      let id: string | undefined = groupItemId(layer);
      if (!index.groups.has(id)) id = nodesUnder(index.layers, layer).map(nodeItemId).find((n) => index.leaves.has(n));
      return id ? { id, path: ancestorsOf(index, id) } : null;
    },
  };
}
