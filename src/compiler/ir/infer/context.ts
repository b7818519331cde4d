// What a shape rule sees of its node: the input types, the constant values known for its inputs, the
// opset, and a way to name a dimension it cannot know. Rules are plain functions from this to output types.

import type { DType } from '../dtype';
import type { Graph, Node, ValueType } from '../graph';
import type { Shape } from '../shape';

/** One element of a partially known constant: a number, a symbolic dim name, or unknown (null). */
export type Elem = number | string | null;

/** A small tensor whose values (some possibly symbolic) are known at compile time. */
export interface ConstVal {
  dims: number[];
  data: Elem[];
}

/** Largest tensor whose values we track; beyond it a value is only a type. */
export const MAX_CONST_ELEMS = 4096;

export interface InferCtx {
  node: Node;
  /** Opset version of the default ONNX domain. */
  opset: number;
  /** Number of inputs the node lists, trailing omitted ones included. */
  numInputs: number;
  /** True when input i is given (not omitted with ''). */
  has(i: number): boolean;
  /** The input's type; null when omitted or unknown. */
  type(i: number): ValueType | null;
  /** The input's shape; null when omitted, unknown, or of unknown rank. */
  shape(i: number): Shape;
  /** The input's dtype, or 'undefined' when unknown. */
  dtype(i: number): DType;
  /** The input's known values, if it is a small constant (initializer, Constant, or folded). */
  value(i: number): ConstVal | undefined;
  /** Cheap test whether value(i) may succeed, without loading anything. */
  maybeValue(i: number): boolean;
  /** A fresh symbolic dimension for output k, dim d. */
  fresh(k: number, d: number): string;
  /** Records output k's known values (the caller drops tensors too large to track). */
  setValue(k: number, v: ConstVal): void;
  /**
   * Infers a subgraph (If branch, Loop body) in place, with this graph's values in scope; its formal
   * inputs take the given types. Returns the types of its outputs.
   */
  subgraph(g: Graph, inputTypes: (ValueType | null)[]): (ValueType | null)[];
}

/** Returns one type per node output ('' outputs included, as null). */
export type ShapeRule = (c: InferCtx) => (ValueType | null)[];

export class InferError extends Error {}

export function fail(msg: string): never {
  throw new InferError(msg);
}

/** Normalises a possibly negative axis against a rank, or throws a clear error. */
export function normAxis(axis: number, rank: number, what = 'axis'): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) fail(`${what} ${axis} is out of range for rank ${rank}`);
  return a;
}

/** The known numbers of a constant, or undefined if any element is symbolic or unknown. */
export function numbersOf(v: ConstVal | undefined): number[] | undefined {
  if (!v) return undefined;
  for (const e of v.data) if (typeof e !== 'number') return undefined;
  return v.data as number[];
}

export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function t(dtype: DType, shape: Shape): ValueType {
  return { dtype, shape };
}
