// The compiler's intermediate representation: one graph of nodes over named values. It is what the ONNX
// importer produces, what shape inference annotates, what autodiff extends and what every view reads.

import type { DType } from './dtype';
import type { Shape } from './shape';

export interface ValueType {
  dtype: DType;
  shape: Shape;
}

/** Where an initializer's bytes are. Inline bytes are a view into the model file; external ones stay on disk. */
export type TensorSource =
  | { kind: 'inline'; proto: RawTensorData }
  | { kind: 'external'; file: string; location: string; offset: number; length: number | null };

/** The typed fields of a TensorProto that may carry its data (only one is set in practice). */
export interface RawTensorData {
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: (number | bigint)[];
  doubleData?: number[];
  uint64Data?: (number | bigint)[];
  stringData?: Uint8Array[];
}

export interface Initializer {
  name: string;
  dtype: DType;
  dims: number[];
  source: TensorSource;
  docString?: string;
}

export type AttrValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: Initializer }
  | { type: 'graph'; value: Graph }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensors'; value: Initializer[] }
  | { type: 'graphs'; value: Graph[] }
  | { type: 'ref'; value: string }
  | { type: 'other'; value: string };

export interface Node {
  /** Unique within the graph; the ONNX name, or a made-up one when the file has none or repeats it. */
  id: string;
  /** The node's name as in the file (may be empty). */
  name: string;
  opType: string;
  /** '' for the default ONNX domain. */
  domain: string;
  /** Value names; '' marks an omitted optional input or output. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  docString?: string;
  /** Layer path, e.g. "features/features.3/conv"; '' at the top level. Filled by the layering pass. */
  layer: string;
}

export interface Value {
  name: string;
  type: ValueType | null;
  docString?: string;
}

export interface Graph {
  name: string;
  nodes: Node[];
  /** Every value the graph names: inputs, initializers, node outputs. */
  values: Map<string, Value>;
  /** Graph inputs that are not initializers (the data the user feeds). */
  inputs: string[];
  outputs: string[];
  initializers: Map<string, Initializer>;
  docString?: string;
}

export interface Model {
  /** Absolute path of the model file, or '' for one built in memory. */
  path: string;
  irVersion: number;
  opsets: Record<string, number>;
  producerName: string;
  producerVersion: string;
  modelVersion: number;
  docString: string;
  metadata: Record<string, string>;
  graph: Graph;
  /** Problems found while importing that did not stop it (unknown operators, bad value_info, ...). */
  warnings: string[];
}

interface AttrTypes {
  float: number; int: number; string: string; tensor: Initializer; graph: Graph; floats: number[]; ints: number[];
  strings: string[]; tensors: Initializer[]; graphs: Graph[]; ref: string; other: string;
}

export function attr<T extends AttrValue['type']>(node: Node, name: string, type: T): AttrTypes[T] | undefined {
  const a = node.attrs[name];
  return a && a.type === type ? (a.value as AttrTypes[T]) : undefined;
}

export function attrInt(node: Node, name: string, dflt: number): number {
  return attr(node, name, 'int') ?? dflt;
}

export function attrFloat(node: Node, name: string, dflt: number): number {
  return attr(node, name, 'float') ?? dflt;
}

export function attrInts(node: Node, name: string): number[] | undefined {
  return attr(node, name, 'ints');
}

export function attrString(node: Node, name: string, dflt: string): string {
  return attr(node, name, 'string') ?? dflt;
}

/** The opset version of the default domain ('' or 'ai.onnx'). */
export function defaultOpset(model: Model): number {
  return model.opsets[''] ?? model.opsets['ai.onnx'] ?? 1;
}
