// The details panel: a node's type, attributes, inputs and outputs (dtype, shape, role, size) and its
// parameters; a group's operator counts and parameters; the model summary when nothing is selected.
// Everything is built with h(), so model strings are text.

import type { DetailsReply, GroupDetails, ModelSummary, NodeDetails, TensorInfo } from '../../src/protocol';
import { append, clear, formatBytes, formatCount, h } from '../ui/dom';

export class DetailsPanel {
  constructor(private readonly el: HTMLElement, private readonly actions: { expand(id: string): void; collapse(id: string): void; isOpen(id: string): boolean }) {}

  showSummary(s: ModelSummary): void {
    clear(this.el);
    append(this.el,
      h('h2', {}, s.fileName),
      h('div', { class: 'muted' }, [s.producer, `IR ${s.irVersion}`, s.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')].filter(Boolean).join(' · ')),
      table([
        ['Operators', formatCount(s.nodeCount)],
        ['Parameters', `${formatCount(s.paramCount)} (${formatBytes(s.paramBytes)})`],
      ]),
      h('h3', {}, 'Inputs'), tensorTable(s.inputs),
      h('h3', {}, 'Outputs'), tensorTable(s.outputs),
      s.unknownOps.length ? h('div', { class: 'warning' }, `Operators without shape rules (marked in the graph): ${s.unknownOps.join(', ')}`) : null,
      s.warnings.length ? h('details', {}, h('summary', {}, `${s.warnings.length} import warning(s)`), h('ul', {}, ...s.warnings.map((w) => h('li', {}, w)))) : null,
      h('p', { class: 'muted hint' }, 'Double-click a layer to open it. Click a box for its details.'),
    );
  }

  show(reply: DetailsReply): void {
    if (!reply) return;
    if ('node' in reply) this.showNode(reply.node);
    else this.showGroup(reply.group);
  }

  private showNode(n: NodeDetails): void {
    clear(this.el);
    append(this.el,
      h('h2', {}, n.opType, n.unknown ? h('span', { class: 'tag error', title: 'The compiler has no shape rule for this operator; it is kept and shown.' }, 'unknown op') : null),
      h('div', { class: 'name' }, n.name),
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

  private showGroup(g: GroupDetails): void {
    clear(this.el);
    const open = this.actions.isOpen(g.id);
    append(this.el,
      h('h2', {}, g.label),
      h('div', { class: 'name' }, g.layer ? `layer ${g.layer}` : 'model'),
      h('div', { class: 'actions' },
        h('button', { class: 'link', attrs: { type: 'button', id: 'details-toggle' }, on: { click: () => (open ? this.actions.collapse(g.id) : this.actions.expand(g.id)) } }, open ? 'Close layer' : 'Open layer')),
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
