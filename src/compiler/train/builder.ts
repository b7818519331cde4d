// Adds nodes to an IR graph while building the training step: unique readable ids, value names, the phase
// of every node and the link from each backward node to the forward node it differentiates. Everything
// the training compiler appends goes through here, so the views and later passes can trust the tags.

import type { AttrValue, Graph, Node, ValueType } from '../ir/graph';
import type { DType } from '../ir/dtype';
import { isStatic } from '../ir/shape';
import { tensor, type Tensor } from '../ir/tensor';
import { tensorToInitializer } from '../onnx/encode';

export type Phase = 'forward' | 'loss' | 'backward' | 'optimizer';

/** Side tables of a training graph; node ids are keys. */
export interface TrainingAnnotations {
  phase: Map<string, Phase>;
  /** Forward (or loss) node id -> the backward nodes that differentiate it. */
  backwardOf: Map<string, string[]>;
  /** Backward node id -> the forward (or loss) node it differentiates. */
  forwardOf: Map<string, string>;
}

export const attrs = {
  int: (value: number): AttrValue => ({ type: 'int', value }),
  ints: (value: number[]): AttrValue => ({ type: 'ints', value: value.slice() }),
  float: (value: number): AttrValue => ({ type: 'float', value }),
  floats: (value: number[]): AttrValue => ({ type: 'floats', value: value.slice() }),
  string: (value: string): AttrValue => ({ type: 'string', value }),
};

export interface NodeSpec {
  op: string;
  inputs: string[];
  /** Number of outputs (named after the id), or their explicit names. Default 1. */
  outputs?: number | string[];
  attrs?: Record<string, AttrValue>;
  domain?: string;
  /** Readable id; made unique by a numeric suffix. Output values are named after it. */
  id: string;
  layer: string;
  phase: Phase;
  /** The forward node this one differentiates (backward nodes only). */
  forward?: string;
  outputDtype?: DType;
  /** Output k has the type of value like[k] (a gradient has its variable's type); '' for none. */
  like?: string[];
}

export class GraphEditor {
  private readonly ids = new Set<string>();
  private readonly shapeCache = new Map<string, string>();
  /** Next suffix to try per base name: repeated bases ("…/const") must not rescan from _1 each time. */
  private readonly nextSuffix = new Map<string, number>();

  constructor(readonly graph: Graph, readonly ann: TrainingAnnotations) {
    for (const n of graph.nodes) this.ids.add(n.id);
  }

  private fresh(base: string, taken: (name: string) => boolean): string {
    if (!taken(base)) return base;
    let k = this.nextSuffix.get(base) ?? 1;
    while (taken(`${base}_${k}`)) k++;
    this.nextSuffix.set(base, k + 1);
    return `${base}_${k}`;
  }

  uniqueId(base: string): string {
    const id = this.fresh(base, (n) => this.ids.has(n) || this.graph.values.has(n));
    this.ids.add(id);
    return id;
  }

  uniqueValue(base: string): string {
    const v = this.fresh(base, (n) => this.graph.values.has(n) || this.graph.initializers.has(n));
    this.graph.values.set(v, { name: v, type: null });
    return v;
  }

  add(spec: NodeSpec): string[] {
    const id = this.uniqueId(spec.id);
    const outNames = typeof spec.outputs === 'object'
      ? spec.outputs.map((o) => (o === '' ? '' : this.uniqueValue(o)))
      : spec.outputs === undefined || spec.outputs === 1
        ? [this.uniqueValue(id)]
        : Array.from({ length: spec.outputs }, (_, k) => this.uniqueValue(`${id}:${k}`));
    if (spec.outputDtype) for (const o of outNames) if (o) this.graph.values.get(o)!.type = { dtype: spec.outputDtype, shape: null };
    spec.like?.forEach((v, k) => {
      const t = v ? this.typeOf(v) : null;
      if (t && outNames[k]) this.graph.values.get(outNames[k])!.type = { dtype: t.dtype, shape: t.shape ? t.shape.slice() : null };
    });
    const node: Node = {
      id, name: id, opType: spec.op, domain: spec.domain ?? '', inputs: spec.inputs.slice(), outputs: outNames,
      attrs: spec.attrs ?? {}, layer: spec.layer,
    };
    this.graph.nodes.push(node);
    this.ann.phase.set(id, spec.phase);
    if (spec.forward !== undefined) {
      this.ann.forwardOf.set(id, spec.forward);
      const list = this.ann.backwardOf.get(spec.forward);
      if (list) list.push(id);
      else this.ann.backwardOf.set(spec.forward, [id]);
    }
    return outNames;
  }

  /** Removes the side-table entries of a node taken out of the graph again (its values stay, unused). */
  forget(id: string): void {
    const f = this.ann.forwardOf.get(id);
    if (f !== undefined) {
      const list = this.ann.backwardOf.get(f);
      if (list) list.splice(list.indexOf(id), 1);
    }
    this.ann.forwardOf.delete(id);
    this.ann.phase.delete(id);
  }

  /** A constant tensor as an initializer (not a parameter: the training compiler never lists it as one). */
  constant(base: string, t: Tensor): string {
    const name = this.uniqueValue(base);
    this.graph.initializers.set(name, tensorToInitializer(name, t));
    this.graph.values.set(name, { name, type: { dtype: t.dtype, shape: t.dims.slice() } });
    return name;
  }

  constFloat(base: string, values: number | number[], dims?: number[]): string {
    const arr = typeof values === 'number' ? [values] : values;
    return this.constant(base, tensor('float32', dims ?? (typeof values === 'number' ? [] : [arr.length]), Float32Array.from(arr)));
  }

  constInt64(base: string, values: number[], dims?: number[]): string {
    return this.constant(base, tensor('int64', dims ?? [values.length], BigInt64Array.from(values.map((v) => BigInt(v)))));
  }

  /** Static dims of a value when shape inference knows them. */
  staticDims(value: string): number[] | null {
    const shape = this.graph.values.get(value)?.type?.shape ?? null;
    if (isStatic(shape)) return shape;
    const init = this.graph.initializers.get(value);
    return init ? init.dims.slice() : null;
  }

  typeOf(value: string): ValueType | null {
    const t = this.graph.values.get(value)?.type;
    if (t && t.dtype !== 'undefined') return t;
    const init = this.graph.initializers.get(value);
    return init ? { dtype: init.dtype, shape: init.dims.slice() } : null;
  }

  dtypeOf(value: string): DType | null {
    return this.graph.values.get(value)?.type?.dtype ?? this.graph.initializers.get(value)?.dtype ?? null;
  }

  /**
   * The shape of `value` as an int64 tensor value: a constant when shape inference knows it (so the
   * backward pass does not keep `value` alive), else a Shape node.
   */
  shapeOf(value: string, at: { layer: string; phase: Phase; forward?: string; id: string }): string {
    const hit = this.shapeCache.get(value);
    if (hit) return hit;
    const dims = this.staticDims(value);
    let name: string;
    if (dims) name = this.constInt64(`${at.id}/shape`, dims);
    else {
      name = this.add({ op: 'Shape', inputs: [value], id: `${at.id}/shape`, layer: at.layer, phase: at.phase, forward: at.forward })[0];
      const rank = this.typeOf(value)?.shape?.length;
      this.graph.values.get(name)!.type = { dtype: 'int64', shape: rank === undefined ? null : [rank] };
    }
    this.shapeCache.set(value, name);
    return name;
  }
}

export function emptyAnnotations(graph: Graph, phase: Phase = 'forward'): TrainingAnnotations {
  const ann: TrainingAnnotations = { phase: new Map(), backwardOf: new Map(), forwardOf: new Map() };
  for (const n of graph.nodes) ann.phase.set(n.id, phase);
  return ann;
}
