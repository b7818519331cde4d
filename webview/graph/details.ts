// The details panel: a node's type, attributes, inputs and outputs (dtype, shape, role, size) and its
// parameters; a group's operator counts and parameters; the model summary when nothing is selected.
// Everything is built with h(), so model strings are text.

import type { DetailsReply, GroupDetails, LayerSchemeInfo, TrainingInfo, LayerUpdateSpec, ModelSummary, NodeDetails, NodeTrainingInfo, TensorInfo } from '../../src/protocol';
import { describeUpdate } from '../../src/views/schemeWords';
import { append, clear, formatBytes, formatCount, h } from '../ui/dom';

export interface DetailsActions {
  expand(id: string): void;
  collapse(id: string): void;
  isOpen(id: string): boolean;
  /** Set how a layer trains (the same actions as the Layers tree's context menu). */
  setLayerUpdate(layer: string, update: LayerUpdateSpec): void;
}

/** The layer actions, in the Layers tree's order. */
const LAYER_ACTIONS: { label: string; title: string; update: LayerUpdateSpec }[] = [
  { label: 'Full', title: 'Train every parameter of the layer', update: 'full' },
  { label: 'Bias only', title: 'Train only the biases (and norm betas)', update: 'bias' },
  { label: 'Channels ½', title: 'Train the first half of the output channels', update: { channels: 0.5 } },
  { label: '¼', title: 'Train the first quarter of the output channels', update: { channels: 0.25 } },
  { label: '⅛', title: 'Train the first eighth of the output channels', update: { channels: 0.125 } },
  { label: 'Frozen', title: 'Train nothing in the layer', update: 'frozen' },
];

export class DetailsPanel {
  constructor(private readonly el: HTMLElement, private readonly actions: DetailsActions) {}

  showSummary(s: ModelSummary, t?: TrainingInfo | null): void {
    clear(this.el);
    append(this.el,
      h('h2', {}, s.fileName),
      h('div', { class: 'muted' }, [s.producer, `IR ${s.irVersion}`, s.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')].filter(Boolean).join(' · ')),
      table([
        ['Operators', formatCount(s.nodeCount)],
        ['Parameters', `${formatCount(s.paramCount)} (${formatBytes(s.paramBytes)})`],
      ]),
      t ? trainingSummary(t) : null,
      h('h3', {}, 'Inputs'), tensorTable(s.inputs),
      h('h3', {}, 'Outputs'), tensorTable(s.outputs),
      s.unknownOps.length ? h('div', { class: 'warning' }, `Operators without shape rules (marked in the graph): ${s.unknownOps.join(', ')}`) : null,
      s.warnings.length ? h('details', {}, h('summary', {}, `${s.warnings.length} import warning(s)`), h('ul', {}, ...s.warnings.map((w) => h('li', {}, w)))) : null,
      h('p', { class: 'muted hint' }, 'Double-click a layer to open it. Click a box for its details.'),
    );
  }

  show(reply: DetailsReply): void {
    if (!reply) return;
    if ('node' in reply) this.showNode(reply.node, reply.training);
    else this.showGroup(reply.group, reply.scheme);
  }

  /** Buttons setting the layer's update; the current one is marked. */
  private layerActions(layer: string, current?: string): HTMLElement {
    return h('div', { class: 'layer-actions', attrs: { 'data-layer': layer } },
      ...LAYER_ACTIONS.map((a) => {
        const isNow = current !== undefined && describeUpdate(a.update) === current;
        return h('button', {
          class: `link${isNow ? ' current' : ''}`, title: a.title,
          attrs: { type: 'button', 'data-update': typeof a.update === 'string' ? a.update : String(a.update.channels), ...(isNow ? { 'aria-pressed': 'true' } : {}) },
          on: { click: () => this.actions.setLayerUpdate(layer, a.update) },
        }, a.label);
      }));
  }

  private showNode(n: NodeDetails, t?: NodeTrainingInfo): void {
    clear(this.el);
    append(this.el,
      h('h2', {}, n.opType, n.unknown ? h('span', { class: 'tag error', title: 'The compiler has no shape rule for this operator; it is kept and shown.' }, 'unknown op') : null,
        t ? h('span', { class: `tag phase phase-${t.phase}` }, t.phase) : null,
        t?.pruned ? h('span', { class: 'tag pruned' }, 'pruned') : null),
      h('div', { class: 'name' }, n.name),
      t?.pruned ? h('div', { class: 'warning pruned-reason', attrs: { id: 'pruned-reason' } }, `Pruned: ${t.pruned}.`) : null,
      t?.forwardOf ? h('div', { class: 'muted' }, `Differentiates forward node ${t.forwardOf}`) : null,
      t && t.backwardNodes ? h('div', { class: 'muted' }, `${t.backwardNodes} backward node${t.backwardNodes === 1 ? '' : 's'} differentiate it (highlighted in the Backward tab)`) : null,
      n.kind === 'op' && n.layer ? h('h3', {}, `Train layer ${n.layer}`) : null,
      n.kind === 'op' && n.layer ? this.layerActions(n.layer) : null,
      table([
        ...(n.domain ? [['Domain', n.domain] as [string, string]] : []),
        ...(n.kind === 'op' ? [['Layer', n.layer || '(model)'] as [string, string]] : []),
        ...(n.paramCount ? [['Parameters', `${formatCount(n.paramCount)} (${formatBytes(n.paramBytes)})`] as [string, string]] : []),
      ]),
      n.attributes.length ? h('h3', {}, 'Attributes') : null,
      n.attributes.length ? table(n.attributes.map((a) => [a.name, a.value])) : null,
      n.inputs.length ? h('h3', {}, 'Inputs') : null,
      n.inputs.length ? tensorTable(n.inputs) : null,
      n.outputs.length ? h('h3', {}, 'Outputs') : null,
      n.outputs.length ? tensorTable(n.outputs) : null,
      n.docString ? h('p', { class: 'doc' }, n.docString) : null,
    );
  }

  private showGroup(g: GroupDetails, scheme?: LayerSchemeInfo): void {
    clear(this.el);
    const open = this.actions.isOpen(g.id);
    append(this.el,
      h('h2', {}, g.label),
      h('div', { class: 'name' }, g.layer ? `layer ${g.layer}` : 'model'),
      h('div', { class: 'actions' },
        h('button', { class: 'link details-toggle', attrs: { type: 'button', id: 'details-toggle' }, on: { click: () => (open ? this.actions.collapse(g.id) : this.actions.expand(g.id)) } }, open ? 'Close layer' : 'Open layer')),
      scheme ? h('h3', {}, 'Training') : null,
      scheme ? table([
        ['Update', scheme.update],
        ['Trainable', `${formatCount(scheme.trainableParams)} of ${formatCount(scheme.params)} parameters`],
      ]) : null,
      scheme ? this.layerActions(g.layer, scheme.update) : null,
      table([
        ['Operators', formatCount(g.opCount)],
        ['Parameters', `${formatCount(g.paramCount)} (${formatBytes(g.paramBytes)})`],
      ]),
      g.unknownOps.length ? h('div', { class: 'warning' }, `Unknown operators: ${g.unknownOps.join(', ')}`) : null,
      h('h3', {}, 'Operators'),
      table(g.opCounts.map((o) => [o.opType, String(o.count)])),
      g.params.length ? h('h3', {}, 'Parameters') : null,
      g.params.length ? tensorTable(g.params.map((p) => ({ name: p.name, dtype: p.dtype, shape: p.shape, role: 'parameter', bytes: p.bytes }))) : null,
    );
  }

  showError(message: string): void {
    clear(this.el);
    append(this.el,h('div', { class: 'error-text' }, message));
  }
}

function table(rows: [string, string][]): HTMLElement {
  return h('table', { class: 'kv' }, ...rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))));
}

/** One entry per tensor: its name on its own line (names are long), then type, role and size. */
function tensorTable(ts: TensorInfo[]): HTMLElement {
  return h('div', { class: 'tensors' }, ...ts.map((t) =>
    h('div', { class: 'tensor' },
      h('div', { class: 'tname', title: t.name }, t.name),
      h('div', { class: 'tmeta' },
        h('span', { class: 'ttype' }, `${t.dtype}${t.shape}`),
        h('span', { class: `role role-${t.role}` }, t.role),
        t.bytes === null ? null : h('span', { class: 'muted' }, formatBytes(t.bytes))),
      t.preview !== undefined ? h('div', { class: 'muted tpreview' }, `= ${t.preview}`) : null)));
}

/** The compiled step under the current scheme: where the scheme comes from, its error, and the counts. */
function trainingSummary(t: TrainingInfo): HTMLElement {
  const c = t.counts;
  return h('div', { class: 'training-summary', attrs: { id: 'training-summary' } },
    t.schemeError ? h('div', { class: 'warning scheme-error' }, `The scheme file is invalid; the last valid scheme stays in effect. ${t.schemeError}`) : null,
    h('h3', {}, `Training step · ${t.schemeSource}`),
    table([
      ['Trainable', `${formatCount(t.trainableParams)} of ${formatCount(t.totalParams)} parameters`],
      ['Forward', `${formatCount(c.forward.nodes)} nodes`],
      ['Backward', `${formatCount(c.backward.nodes)} nodes${c.backward.pruned ? `, ${formatCount(c.backward.pruned)} pruned` : ''}`],
      ['Optimizer', `${formatCount(c.optimizer.nodes)} nodes${c.optimizer.pruned ? `, ${formatCount(c.optimizer.pruned)} pruned` : ''}`],
    ]));
}
