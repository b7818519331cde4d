// The view model: what a graph webview draws, as plain JSON-safe data. The compiler computes it (from the
// IR and the layer tree) and the host sends it; the webview never sees the IR. Every graph the later
// issues show (forward, backward, optimizer, whole step) uses these same shapes, so one renderer serves all.

/** A box the webview draws: an operator, a graph input/output, or a group (layer) that can be expanded. */
export interface ViewItem {
  /** Unique in the view. Groups: the layer id, or `<layer>#<k>` for an artificial sub-group. Nodes: `n:<nodeId>`. */
  id: string;
  kind: 'group' | 'op' | 'input' | 'output';
  /** Shown text: the layer's last name segment, the operator type, or the value name for inputs/outputs. */
  label: string;
  /** Secondary text (op: the node's short name; group: "12 ops"). */
  sublabel: string;
  /** Enclosing visible group's id, or null at the top. */
  parent: string | null;
  /** Operator type (ops only). */
  opType?: string;
  /** The compiler has no shape rule for this operator: drawn marked, never dropped. */
  unknown?: boolean;
  /** Groups: how many operators are inside (all depths), so the webview can size and label the box. */
  opCount?: number;
  /** Groups: whether it has anything to expand into. */
  expandable?: boolean;
  /** Groups: unknown operators somewhere inside. */
  unknownCount?: number;
}

/** A data edge between two visible items, aggregated: several tensors between the same two boxes are one edge. */
export interface ViewEdge {
  id: string;
  source: string;
  target: string;
  /** Number of tensors the edge stands for. */
  count: number;
  /** A representative tensor's "dtype[shape]" (the first), for the edge label. */
  label: string;
}

/** The visible part of a graph for one set of expanded groups. */
export interface VisibleGraph {
  items: ViewItem[];
  edges: ViewEdge[];
  /** The expanded groups this answers for (those that exist), in the order given. */
  expanded: string[];
}

export interface TensorInfo {
  name: string;
  dtype: string;
  /** e.g. "[1, 3, 224, 224]", "[batch, 128]", or "?" when unknown. */
  shape: string;
  /** What the value is, so the details panel can tell weights from activations. */
  role: 'parameter' | 'buffer' | 'initializer' | 'constant' | 'input' | 'activation' | 'missing';
  /** Bytes when the shape is static and the dtype has a size, else null. */
  bytes: number | null;
  /** For small constants and initializers with data inline: a short preview of the values. */
  preview?: string;
}

export interface NodeDetails {
  id: string;
  kind: 'op' | 'input' | 'output';
  name: string;
  opType: string;
  domain: string;
  layer: string;
  unknown: boolean;
  attributes: { name: string; value: string }[];
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Sum over the parameter inputs. */
  paramCount: number;
  paramBytes: number;
  docString: string;
}

export interface GroupDetails {
  id: string;
  /** The layer's dotted path ('' for the model root); for artificial sub-groups, their layer's. */
  layer: string;
  label: string;
  opCount: number;
  opCounts: { opType: string; count: number }[];
  params: { name: string; dtype: string; shape: string; count: number | null; bytes: number | null }[];
  paramCount: number;
  paramBytes: number;
  unknownOps: string[];
}

export interface SearchMatch {
  /** Item id of the op node. */
  id: string;
  label: string;
  opType: string;
  layer: string;
  /** The groups to expand, outermost first, so the node becomes visible. */
  path: string[];
}

export interface ModelSummary {
  fileName: string;
  producer: string;
  irVersion: number;
  opsets: { domain: string; version: number }[];
  nodeCount: number;
  paramCount: number;
  paramBytes: number;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  unknownOps: string[];
  warnings: string[];
}
