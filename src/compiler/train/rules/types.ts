// The contract of a gradient rule: given a forward node and the gradients of its outputs, add backward
// nodes that compute the gradients of its inputs. Rules live one operator family per file.

import type { AttrValue, Node } from '../../ir/graph';
import type { GraphEditor } from '../builder';

export interface GradContext {
  node: Node;
  /** Opset of the node's domain in the model. */
  opset: number;
  ed: GraphEditor;
  /** Gradient value of output k, or undefined when that output does not reach the loss. */
  gy(k?: number): string | undefined;
  /** Gradient of output k, zeros when it has none (ops whose outputs must all be covered, e.g. Split). */
  gyOrZeros(k: number): string;
  /** Whether input i needs a gradient (it leads back to a trainable parameter). */
  needs(i: number): boolean;
  x(i: number): string;
  y(k?: number): string;
  /** Adds one backward node of this forward node; `what` names it (e.g. "weight", "input"). */
  emit(op: string, inputs: string[], what: string, opts?: EmitOptions & { outputs?: number }): string[];
  emit1(op: string, inputs: string[], what: string, opts?: EmitOptions): string;
  constFloat(values: number | number[], dims?: number[]): string;
  constInt64(values: number[], dims?: number[]): string;
  shapeOf(value: string): string;
  /** Sums a gradient computed at the broadcast output shape down to input i's shape (no-op when equal). */
  reduceTo(g: string, i: number): string;
}

export interface EmitOptions {
  attrs?: Record<string, AttrValue>;
  domain?: string;
  /** Values whose types the outputs have (pockengine operators declare them; shape inference knows only ONNX). */
  like?: string[];
}

/** Gradients per input (undefined: none); rules leave undefined where needs(i) is false. */
export type GradResult = (string | undefined)[];

export interface GradRule {
  /** Input slots a gradient can flow to (default: all). Shape, index and constant inputs are not. */
  differentiable?: (node: Node) => number[];
  grad(ctx: GradContext): GradResult;
}

export const PE = 'pockengine';
