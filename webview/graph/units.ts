// "Colour by unit" for a training graph: the host's unit overlay (planView.graphUnitOverlay: per operator
// its unit and estimated time, per group its mix, the legend's totals) turned into the renderer's paint, the
// legend over the canvas, the hover tooltip, and the box that stands for an operator hidden in a closed
// group. Every number shown is the overlay's; nothing is estimated here.

import { MessageType, type GraphUnitOverlay, type TrainingGraphId } from '../../src/protocol';
import type { Host } from '../host';
import { clear, formatCount, h } from '../ui/dom';
import { formatMs } from '../plan/format';
import type { UnitPaint } from './renderer';
import { unitColor, type Palette } from './theme';
import css from './units.css';

let styled = false;
function adoptStyles(): void {
  if (styled) return;
  styled = true;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}

export class UnitOverlayView {
  readonly legend: HTMLElement;
  readonly tip: HTMLElement;
  overlay: GraphUnitOverlay | null = null;
  private error: string | null = null;
  private generation = 0;

  /** `canvas`: the graph's canvas element, whose dataset tells tests which plan the colours come from. */
  constructor(private readonly host: Host, private readonly graph: TrainingGraphId, private readonly canvas: HTMLElement, legendId: string) {
    adoptStyles();
    this.legend = h('div', { class: 'unit-legend hidden', attrs: { id: legendId, role: 'table', 'aria-label': 'Operators by unit' } });
    this.tip = h('div', { class: 'unit-tip hidden', attrs: { role: 'tooltip', id: `${legendId}-tip` } });
  }

  /** Asks the host for the overlay under the current plan; a later call wins over an unfinished earlier one. */
  async load(): Promise<boolean> {
    const gen = ++this.generation;
    this.canvas.dataset.unitState = 'loading';
    let reply;
    try {
      reply = await this.host.request({ type: MessageType.GetUnitOverlay, graph: this.graph });
    } catch (e) {
      reply = { error: (e as Error).message };
    }
    if (gen !== this.generation) return false;
    if ('error' in reply) {
      this.overlay = null;
      this.error = reply.error;
    } else {
      this.overlay = reply.overlay;
      this.error = null;
    }
    return true;
  }

  /** The unit's colour: its position in the device profile. */
  color(p: Palette, unit: string): string {
    return unitColor(p, this.overlay?.legend.findIndex((l) => l.unit === unit) ?? 0);
  }

  paint(p: Palette): UnitPaint {
    const o = this.overlay;
    const paint: UnitPaint = { ops: new Map(), groups: new Map() };
    if (!o) return paint;
    const colors = new Map(o.legend.map((l, i) => [l.unit, unitColor(p, i)]));
    for (const [id, op] of Object.entries(o.ops)) paint.ops.set(id, { unit: op.unit, color: colors.get(op.unit)! });
    for (const [id, g] of Object.entries(o.groups)) {
      if (g.mix.length) paint.groups.set(id, g.mix.map((m) => ({ unit: m.unit, ops: m.ops, color: colors.get(m.unit)! })));
    }
    return paint;
  }

  /** Legend rows and the canvas's data attributes, after a load or a theme change. */
  renderLegend(p: Palette): void {
    clear(this.legend);
    this.legend.classList.remove('hidden');
    const o = this.overlay;
    if (!o) {
      this.legend.append(h('div', { class: 'error-text' }, this.error ?? 'No plan yet.'));
      this.canvas.dataset.unitState = 'error';
      return;
    }
    const rows = o.legend.map((l, i) => h('tr', { attrs: { 'data-unit': l.unit, 'data-ops': String(l.ops), 'data-ms': String(l.estMs), 'data-share': String(l.share) }, class: l.ops ? '' : 'muted' },
      h('td', {}, swatch(unitColor(p, i))),
      h('td', {}, h('strong', {}, l.unit)),
      h('td', { class: 'unit-name', title: l.displayName }, l.displayName),
      h('td', { class: 'num' }, `${formatCount(l.ops)} ops`),
      h('td', { class: 'num' }, formatMs(l.estMs)),
      h('td', { class: 'num' }, `${(l.share * 100).toFixed(1)}%`)));
    this.legend.append(
      h('div', { class: 'unit-legend-title' }, 'Operators by unit on ', h('strong', {}, o.deviceName)),
      h('table', {}, ...rows),
      h('div', { class: 'muted unit-legend-foot' },
        `estimated compute ${formatMs(o.computeMs)} (share of it per unit)${o.notRun ? ` · ${formatCount(o.notRun)} drawn operators not run (pruned or folded)` : ''}`),
    );
    Object.assign(this.canvas.dataset, { unitState: 'ready', unitDevice: o.device, unitPlanVersion: String(o.planVersion) });
  }

  hideLegend(): void {
    this.legend.classList.add('hidden');
    this.hideTip();
    delete this.canvas.dataset.unitState;
  }

  /** The tooltip's lines for a drawn item, or null when the overlay says nothing about it. */
  tipLines(id: string, label: string): string[] | null {
    const o = this.overlay;
    if (!o) return null;
    const unitName = (u: string): string => o.legend.find((l) => l.unit === u)?.displayName ?? u;
    const op = o.ops[id];
    if (op) return [label, `on ${op.unit} — ${unitName(op.unit)}`, `estimated ${formatMs(op.estMs)}`];
    const g = o.groups[id];
    if (g) {
      if (!g.mix.length) return [label, 'no operator of this layer runs in the step (pruned or folded)'];
      const ms = g.mix.reduce((a, m) => a + m.estMs, 0);
      return [label, ...g.mix.map((m) => `${formatCount(m.ops)} ops on ${m.unit}: estimated ${formatMs(m.estMs)}`), ...(g.mix.length > 1 ? [`together ${formatMs(ms)}`] : [])];
    }
    if (id.startsWith('n:')) return [label, 'not run on the device (pruned by the scheme or folded by a pass)'];
    return null;
  }

  showTip(lines: string[], at: { x: number; y: number }): void {
    clear(this.tip);
    lines.forEach((l, i) => this.tip.append(h('div', { class: i === 0 ? 'unit-tip-head' : '' }, l)));
    this.tip.style.left = `${Math.round(at.x + 14)}px`;
    this.tip.style.top = `${Math.round(at.y + 14)}px`;
    this.tip.classList.remove('hidden');
  }

  hideTip(): void {
    this.tip.classList.add('hidden');
  }

  /**
   * The drawn box that stands for an operator: the operator itself, else its innermost closed group that
   * is drawn (the overlay knows each operator's enclosing groups).
   */
  shownBox(nodeId: string, drawn: Set<string>, open: Set<string>): string | null {
    const id = `n:${nodeId}`;
    if (drawn.has(id)) return id;
    const o = this.overlay;
    let g = o?.ops[id]?.parent ?? null;
    const chain: string[] = [];
    for (; g !== null; g = o!.groups[g]?.parent ?? null) chain.push(g);
    // Outermost first: the first drawn group that is closed holds the operator.
    for (const c of chain.reverse()) if (drawn.has(c) && !open.has(c)) return c;
    return null;
  }
}

function swatch(color: string): HTMLElement {
  const s = h('span', { class: 'unit-swatch' });
  s.style.background = color;
  return s;
}
