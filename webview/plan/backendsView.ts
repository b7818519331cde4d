// The Backends tab: which unit runs each operator on the selected device. The whole step's graph coloured
// by unit (its operators, and each closed layer's mix, with a legend: the graph view in its unit mode), the
// step as a strip under it (hovering an entry marks its box in the graph), per-unit totals (operators,
// FLOPs, estimated time), the estimated step time and how it was estimated, the layers as tiles coloured by
// unit (planView.unitOverlay), the transfers between units, and the override control: put the selected
// operator or layer on a unit, which recompiles. Overrides are kept in the workspace state (per model).
// Unit colours are the theme's chart colours by the unit's place in the profile, as in the graph.

import type { InitMessage, LinkedItem, PlanData, TrainingInfo } from '../../src/protocol';
import { MessageType } from '../../src/protocol';
import { unitOverlay } from '../../src/compiler/view/planView';
import type { Host } from '../host';
import type { TabView } from '../tabView';
import { clear, formatBytes, formatCount, h } from '../ui/dom';
import { button, dropdown } from '../ui/toolkit';
import { adoptPlanStyles, formatMs, planMessage, planToolbar, themeColor, canvasContext } from './common';
import { planStore, type PlanStore } from './planStore';
import { swatch } from './scheduleView';
import { GraphView } from '../graph/graphView';
import { onThemeChange, readPalette, unitColor, type Palette } from '../graph/theme';

const MAX_TRANSFERS = 100;

export class BackendsView implements TabView {
  readonly el = h('div', { class: 'plan-view backends-view', attrs: { id: 'backends-view' } });
  private readonly store: PlanStore;
  private readonly toolbar;
  private readonly body = h('div', { class: 'plan-body backends-body' });
  private readonly strip = h('canvas', { class: 'schedule-strip', attrs: { id: 'backends-strip' } });
  private readonly graph: GraphView;
  private palette: Palette = readPalette();
  private readonly overrideBox = h('div', { class: 'backends-override', attrs: { id: 'backends-override' } });
  private plan: PlanData | null = null;
  private readonly unitPick = dropdown({ id: 'backends-unit', title: 'Unit to run the selection on', onChange: () => undefined });

  constructor(private readonly host: Host) {
    adoptPlanStyles();
    this.store = planStore(host);
    this.toolbar = planToolbar(this.store, 'backends');
    this.graph = new GraphView(host, 'step', { key: 'backends', units: 'always' });
    this.graph.el.classList.add('backends-graph');
    this.el.append(this.toolbar.el, h('div', { class: 'backends-split' }, this.graph.el,
      h('div', { class: 'backends-strip-row' }, h('span', { class: 'muted' }, 'Step by unit'), this.strip), this.body));
    this.strip.addEventListener('mousemove', (e) => this.hoverStrip(e.offsetX));
    this.strip.addEventListener('mouseleave', () => this.hoverStrip(null));
    new ResizeObserver(() => this.drawStrip()).observe(this.el);
    this.store.onPlan((r) => this.show(r));
    this.store.onSelection(() => this.renderOverride());
    // The unit colours are the theme's: redraw the strip, tables and tiles with the new ones.
    onThemeChange(() => {
      if (this.plan) this.show({ plan: this.plan });
    });
  }

  async start(init: InitMessage, training?: TrainingInfo | null, linked?: LinkedItem[]): Promise<void> {
    this.el.dataset.state = 'loading';
    this.body.append(planMessage('Compiling the plan of the training step…'));
    await Promise.all([this.graph.start(init, training, linked), this.store.load().then((r) => this.show(r))]);
  }

  shown(): void {
    this.graph.shown();
    this.drawStrip();
  }

  applyTraining(info: TrainingInfo): Promise<void> {
    return this.graph.applyTraining(info);
  }

  setLinked(items: LinkedItem[]): void {
    this.graph.setLinked(items);
  }

  fit(): void {
    this.graph.fit();
  }

  focusSearch(): void {
    this.graph.focusSearch();
  }

  setExpanded(expanded: string[]): Promise<boolean> {
    return this.graph.setExpanded(expanded);
  }

  /** The colour the graph gives the unit: its place in the device profile. */
  private color(unit: string): string {
    return unitColor(this.palette, this.plan?.backends.profileUnits.findIndex((u) => u.id === unit) ?? 0);
  }

  /** Marks the strip entry under the pointer in the graph (the operator, or the closed layer it is in). */
  private hoverStrip(x: number | null): void {
    const plan = this.plan;
    const w = this.strip.clientWidth;
    const s = plan && x !== null && w > 0 ? plan.schedule[Math.min(plan.schedule.length - 1, Math.max(0, Math.floor((x / w) * plan.schedule.length)))] : undefined;
    this.strip.title = s ? `step ${s.step}: ${s.op} ${s.node} on ${s.unit}, estimated ${formatMs(s.estMs)}` : '';
    this.strip.dataset.hoverStep = s ? String(s.step) : '';
    this.graph.hoverNode(s ? s.node : null);
  }

  private show(r: { plan: PlanData } | { error: string }): void {
    clear(this.body);
    if ('error' in r) {
      this.body.append(planMessage(r.error, true));
      this.el.dataset.state = 'error';
      return;
    }
    const plan = r.plan;
    this.plan = plan;
    this.palette = readPalette();
    const b = plan.backends;
    this.toolbar.update(plan);
    clear(this.toolbar.summary);
    this.toolbar.summary.append(
      h('span', {}, 'Estimated step '),
      h('strong', { attrs: { id: 'backends-est-ms', 'data-ms': String(b.estStepMs), 'data-device': plan.device } }, formatMs(b.estStepMs)),
      h('span', { class: 'muted' }, ` on ${plan.deviceName} · compute ${formatMs(b.computeMs)}, transfers ${formatMs(b.transferMs)}${b.exact ? '' : ' · beam search (not proven optimal)'}`),
    );
    const totalMs = b.units.reduce((a, u) => a + u.estMs, 0) || 1;
    const units = h('table', { class: 'plan-table', attrs: { id: 'backends-units' } },
      h('tr', {}, h('th', {}, ''), h('th', {}, 'unit'), h('th', {}, ''), h('th', { class: 'num' }, 'operators'), h('th', { class: 'num' }, 'GFLOP'), h('th', { class: 'num' }, 'est. time'), h('th', {}, 'share')),
      ...b.units.map((u) => {
        const bar = h('span', { class: 'ms-bar' });
        bar.style.width = `${(u.estMs / totalMs) * 100}%`;
        bar.style.background = this.color(u.unit);
        return h('tr', { attrs: { 'data-unit': u.unit, 'data-ops': String(u.ops), 'data-ms': String(u.estMs) } },
          h('td', {}, swatch(this.color(u.unit))), h('td', {}, h('strong', {}, u.unit)), h('td', { class: 'muted' }, u.displayName),
          h('td', { class: 'num' }, formatCount(u.ops)), h('td', { class: 'num' }, (u.flops / 1e9).toFixed(3)), h('td', { class: 'num' }, formatMs(u.estMs)),
          h('td', { class: 'share' }, bar));
      }));
    const transfers = [...b.transfers].sort((x, y) => y.estMs - x.estMs);
    const tList = h('table', { class: 'plan-table', attrs: { id: 'backends-transfers', 'data-count': String(b.transfers.length) } },
      h('tr', {}, h('th', {}, 'tensor'), h('th', {}, 'from → to'), h('th', {}, 'before'), h('th', { class: 'num' }, 'bytes'), h('th', { class: 'num' }, 'est. time')),
      ...transfers.slice(0, MAX_TRANSFERS).map((t) => h('tr', {},
        h('td', { class: 'live-name', title: t.tensor }, t.tensor), h('td', {}, `${t.from} → ${t.to}`), h('td', { class: 'live-name', title: t.beforeOp }, t.beforeOp),
        h('td', { class: 'num' }, formatBytes(t.bytes)), h('td', { class: 'num' }, formatMs(t.estMs)))));
    this.unitPick.setOptions(b.profileUnits.map((u) => ({ value: u.id, label: `${u.id} — ${u.displayName}` })));
    this.body.append(
      h('div', { class: 'section-title' }, 'Units'), units,
      h('div', { class: 'muted method' }, b.method),
      h('div', { class: 'section-title' }, 'Layers coloured by unit'), this.layerTiles(plan),
      h('div', { class: 'section-title' }, 'Override'), this.overrideBox,
      h('div', { class: 'section-title' }, `Transfers between units (${formatCount(b.transfers.length)})`),
      b.transfers.length ? tList : h('div', { class: 'muted' }, plan.backends.profileUnits.length > 1 ? 'None: every operator runs on one unit.' : 'None: this device has one unit.'),
    );
    this.renderOverride();
    this.drawStrip();
    this.el.dataset.planVersion = String(plan.planVersion);
    this.el.dataset.state = 'ready';
  }

  /** One tile per layer in schedule order, coloured by the unit most of its operators run on. */
  private layerTiles(plan: PlanData): HTMLElement {
    const overlay = unitOverlay(plan.schedule);
    const byLayer = new Map<string, Map<string, number>>();
    for (const s of plan.schedule) {
      const key = s.layer || '(model)';
      const m = byLayer.get(key) ?? new Map<string, number>();
      const unit = overlay[`n:${s.node}`];
      m.set(unit, (m.get(unit) ?? 0) + 1);
      byLayer.set(key, m);
    }
    const box = h('div', { class: 'layer-tiles', attrs: { id: 'backends-layers' } });
    for (const [layer, m] of byLayer) {
      const [unit] = [...m].sort((a, b) => b[1] - a[1])[0];
      const mixed = m.size > 1;
      const tile = h('span', {
        class: `layer-tile${mixed ? ' mixed' : ''}`, title: `${layer}: ${[...m].map(([u, c]) => `${c} on ${u}`).join(', ')}`,
        attrs: { 'data-layer': layer, 'data-unit': unit },
        on: { click: () => this.selectLayer(layer) },
      }, layer);
      tile.style.borderLeftColor = this.color(unit);
      box.append(tile);
    }
    return box;
  }

  private selectLayer(layer: string): void {
    const plan = this.plan;
    const first = plan?.schedule.find((s) => (s.layer || '(model)') === layer);
    if (plan && first) this.store.selectNode(first.node, plan);
  }

  private renderOverride(): void {
    const plan = this.plan;
    if (!plan) return;
    clear(this.overrideBox);
    const node = this.store.selection.primary;
    const row = node ? plan.schedule.find((s) => s.node === node) : undefined;
    const ov = plan.backends.overrides;
    const current = [
      ...Object.entries(ov.ops ?? {}).map(([target, unit]) => ({ kind: 'op' as const, target, unit })),
      ...(ov.layers ?? []).map((r) => ({ kind: 'layer' as const, target: r.match, unit: r.unit })),
    ];
    const send = (kind: 'op' | 'layer', target: string, unit: string): void =>
      this.host.notify({ type: MessageType.SetBackendOverride, kind, target, unit });
    this.overrideBox.append(
      row
        ? h('div', { class: 'override-row' },
          h('span', {}, 'Selected: '), h('strong', { attrs: { id: 'backends-selected', 'data-node': row.node } }, `${row.op} ${row.node}`),
          h('span', { class: 'muted' }, ` in ${row.layer || '(model)'} · on ${row.unit}${row.forcedBy ? ` (override by ${row.forcedBy})` : ''}`))
        : h('div', { class: 'muted' }, 'Select an operator (here, in the Schedule or in a graph tab) to choose its unit.'),
      h('div', { class: 'override-row' }, this.unitPick.el,
        button('Put operator on unit', { id: 'btn-override-op', title: 'Run the selected operator on this unit', onClick: () => row && send('op', row.node, this.unitPick.value()) }),
        button('Put layer on unit', { id: 'btn-override-layer', title: 'Run every operator of the selected operator\'s layer on this unit', onClick: () => row?.layer && send('layer', row.layer, this.unitPick.value()) })),
      current.length
        ? h('div', { class: 'override-list', attrs: { id: 'backends-overrides', 'data-count': String(current.length) } }, ...current.map((c) =>
          h('div', { class: 'override-row' }, h('span', {}, `${c.kind} ${c.target} → ${c.unit}`),
            button('Remove', { title: 'Remove this override', onClick: () => send(c.kind, c.target, '') }))))
        : h('div', { class: 'muted' }, 'No overrides: the assignment is the dynamic program\'s. Overrides are kept in this workspace\'s state, per model.'),
    );
  }

  private drawStrip(): void {
    const plan = this.plan;
    const c = this.strip;
    const w = c.clientWidth;
    if (!plan || w === 0) return;
    const H = 22;
    const ctx = canvasContext(c, w, H);
    const n = plan.schedule.length;
    const bw = Math.max(1, w / n);
    for (const s of plan.schedule) {
      ctx.fillStyle = this.color(s.unit);
      ctx.fillRect((s.step / n) * w, 2, bw, 14);
    }
    ctx.fillStyle = themeColor('--vscode-foreground', '#ccc');
    const byOp = new Map(plan.schedule.map((s) => [s.node, s.step]));
    for (const t of plan.backends.transfers) {
      const at = byOp.get(t.beforeOp);
      if (at !== undefined) ctx.fillRect((at / n) * w, 17, 2, 5);
    }
  }
}
