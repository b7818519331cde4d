// Runs a compiled training graph in the reference runtime: gradients on a batch, or optimizer steps that
// carry parameters and optimizer state from one step to the next.

import '../runtime';
import '../runtime/grad';
import { execute, initializerTensor } from '../runtime/execute';
import { tensor, type Tensor } from '../ir/tensor';
import { ModelError } from '../onnx/errors';
import type { TrainingGraph } from './trainingGraph';

export interface GradientResult {
  loss: number;
  grads: Map<string, Tensor>;
}

function checkFeeds(tg: TrainingGraph, feeds: Map<string, Tensor>): void {
  for (const name of tg.dataInputs) {
    if (!feeds.has(name)) throw new ModelError(`the training step needs input "${name}"; feed it (inputs: ${tg.dataInputs.join(', ')})`);
  }
}

/** Loss and gradients of a graph built without an optimizer. */
export function computeGradients(tg: TrainingGraph, feeds: Map<string, Tensor>, params?: Map<string, Tensor>): GradientResult {
  checkFeeds(tg, feeds);
  const wanted = [tg.loss.loss, ...tg.grads.values()];
  const out = execute(tg.graph, feeds, { outputs: wanted, overrides: params, opsets: tg.opsets });
  const grads = new Map<string, Tensor>();
  for (const [p, g] of tg.grads) grads.set(p, out.get(g)!);
  return { loss: Number(out.get(tg.loss.loss)!.data[0]), grads };
}

/** Parameters and optimizer state that evolve over steps of a graph built with an optimizer. */
export class TrainingSession {
  readonly params = new Map<string, Tensor>();
  readonly state = new Map<string, Tensor>();
  /** BatchNorm running statistics as updated by train-mode forwards (empty until the first step). */
  readonly buffers = new Map<string, Tensor>();

  constructor(readonly tg: TrainingGraph) {
    if (tg.updated.size === 0 && tg.grads.size > 0) throw new ModelError('this training graph has no optimizer; build it with an optimizer to take steps');
    for (const p of tg.updated.keys()) this.params.set(p, initializerTensor(tg.graph, p)!);
    for (const s of tg.state) {
      this.state.set(s.name, s.dtype === 'int64' ? tensor('int64', s.dims) : tensor('float32', s.dims));
    }
  }

  /** One forward, backward and update on the batch; returns the step's forward loss. */
  step(feeds: Map<string, Tensor>): number {
    checkFeeds(this.tg, feeds);
    const all = new Map<string, Tensor>([...feeds, ...this.state]);
    const outputs = [this.tg.loss.loss, ...this.tg.updated.values(), ...this.tg.state.map((s) => s.next)];
    const bufferOuts = [...this.tg.bufferUpdates.values()];
    const overrides = new Map([...this.params, ...this.buffers]);
    const out = execute(this.tg.graph, all, { outputs: [...outputs, ...bufferOuts], overrides, opsets: this.tg.opsets });
    for (const [p, v] of this.tg.updated) this.params.set(p, out.get(v)!);
    for (const [b, v] of this.tg.bufferUpdates) this.buffers.set(b, out.get(v)!);
    for (const s of this.tg.state) this.state.set(s.name, out.get(s.next)!);
    return Number(out.get(this.tg.loss.loss)!.data[0]);
  }

  /** The loss at the current parameters without updating them. */
  loss(feeds: Map<string, Tensor>): number {
    checkFeeds(this.tg, feeds);
    const overrides = new Map([...this.params, ...this.buffers]);
    const out = execute(this.tg.graph, feeds, { outputs: [this.tg.loss.loss], overrides, opsets: this.tg.opsets });
    return Number(out.get(this.tg.loss.loss)!.data[0]);
  }
}
