// The Schedule tab: every operator of the training step in the order it runs, coloured by phase, with the
// operators the reordering passes moved marked (and by which pass), the unit and the estimated time of each.
// Rows are virtualised (only the visible ones exist), so the 7B-shaped model's thousands of steps scroll as
// fast as MobileNetV2's hundreds. A strip above shows the whole step at once; clicking it scrolls there.

import type { InitMessage, PlanData, PlanStepRow } from '../../src/protocol';
import { PHASE_COLORS } from '../../src/compiler/view/planView';
import type { Host } from '../host';
import type { TabView } from '../tabView';
import { clear, formatCount, h } from '../ui/dom';
import { adoptPlanStyles, formatMs, planMessage, planToolbar, themeColor, canvasContext } from './common';
import { inLayer, planStore, type PlanSelection, type PlanStore } from './planStore';

const ROW = 22;

export class ScheduleView implements TabView {
  readonly el = h('div', { class: 'plan-view schedule-view', attrs: { id: 'schedule-view' } });
  private readonly store: PlanStore;
  private readonly toolbar;
  private readonly strip = h('canvas', { class: 'schedule-strip', attrs: { id: 'schedule-strip' } });
  private readonly scroller = h('div', { class: 'schedule-scroll', attrs: { id: 'schedule-list', tabindex: '0' } });
  private readonly spacer = h('div', { class: 'schedule-spacer' });
  private readonly rows = h('div', { class: 'schedule-rows' });
  private readonly body = h('div', { class: 'plan-body' });
  private plan: PlanData | null = null;
  private maxMs = 0;
  private selectedIdx = new Set<number>();

  constructor(host: Host) {
    adoptPlanStyles();
    this.store = planStore(host);
    this.toolbar = planToolbar(this.store, 'schedule');
    const head = h('div', { class: 'schedule-row schedule-head' },
      h('span', { class: 'c-step' }, '#'), h('span', { class: 'c-phase' }, 'phase'), h('span', { class: 'c-op' }, 'operator'),
      h('span', { class: 'c-node' }, 'node'), h('span', { class: 'c-unit' }, 'unit'), h('span', { class: 'c-ms' }, 'est. time'),
      h('span', { class: 'c-moved' }, 'moved by'));
    this.scroller.append(this.spacer, this.rows);
    this.body.append(this.legend(), this.strip, head, this.scroller);
    this.el.append(this.toolbar.el, this.body);
    this.scroller.addEventListener('scroll', () => {
      this.renderRows();
      this.drawStrip();
    });
    this.scroller.addEventListener('keydown', (e) => this.onKey(e));
    this.strip.addEventListener('click', (e) => this.onStripClick(e));
    new ResizeObserver(() => {
      this.renderRows();
      this.drawStrip();
    }).observe(this.scroller);
    this.store.onPlan((r) => this.show(r));
    this.store.onSelection((s) => this.applySelection(s, true));
  }

  async start(_init: InitMessage): Promise<void> {
    this.el.dataset.state = 'loading';
    this.rows.append(planMessage('Compiling the plan of the training step…'));
    this.show(await this.store.load());
  }

  shown(): void {
    this.renderRows();
    this.drawStrip();
  }

  private legend(): HTMLElement {
    const item = (label: string, color: string): HTMLElement => h('span', { class: 'legend-item' }, swatch(color), label);
    return h('div', { class: 'plan-legend' },
      ...Object.entries(PHASE_COLORS).map(([p, c]) => item(p, c)),
      h('span', { class: 'legend-item' }, h('span', { class: 'moved-badge' }, 'moved'), 'reordered by a pass'));
  }

  private show(r: { plan: PlanData } | { error: string }): void {
    if ('error' in r) {
      clear(this.rows);
      this.rows.append(planMessage(r.error, true));
      this.el.dataset.state = 'error';
      return;
    }
    const plan = r.plan;
    this.plan = plan;
    this.maxMs = Math.max(1e-9, ...plan.schedule.map((s) => s.estMs));
    this.toolbar.update(plan);
    const moved = plan.schedule.filter((s) => s.movedBy).length;
    const total = plan.schedule.reduce((a, s) => a + s.estMs, 0);
    clear(this.toolbar.summary);
    this.toolbar.summary.append(
      h('span', { attrs: { id: 'schedule-count', 'data-steps': String(plan.schedule.length) } }, `${formatCount(plan.schedule.length)} operators`),
      h('span', { class: 'muted' }, ' · '),
      h('span', { attrs: { id: 'schedule-moved', 'data-moved': String(moved) } }, `${formatCount(moved)} moved by reordering`),
      h('span', { class: 'muted' }, ' · '),
      h('span', { attrs: { id: 'schedule-total-ms', 'data-ms': String(plan.backends.estStepMs) } }, `step ≈ ${formatMs(plan.backends.estStepMs)} on ${plan.deviceName}`),
      h('span', { class: 'muted' }, ` (operators ${formatMs(total)}, transfers ${formatMs(plan.backends.transferMs)})`),
    );
    this.spacer.style.height = `${plan.schedule.length * ROW}px`;
    this.el.dataset.steps = String(plan.schedule.length);
    this.el.dataset.planVersion = String(plan.planVersion);
    this.applySelection(this.store.selection, false);
    this.renderRows();
    this.drawStrip();
    this.el.dataset.state = 'ready';
  }

  private applySelection(s: PlanSelection, scroll: boolean): void {
    const plan = this.plan;
    if (!plan) return;
    this.selectedIdx = new Set();
    let primary = -1;
    plan.schedule.forEach((row, i) => {
      if (s.nodes.has(row.node) || (s.layer !== null && s.nodes.size === 0 && inLayer(row.layer, s.layer))) this.selectedIdx.add(i);
      if (row.node === s.primary) primary = i;
    });
    if (primary < 0 && this.selectedIdx.size) primary = Math.min(...this.selectedIdx);
    this.el.dataset.selectedStep = primary < 0 ? '' : String(primary);
    if (scroll && primary >= 0) this.scrollToStep(primary);
    this.renderRows();
    this.drawStrip();
  }

  scrollToStep(step: number): void {
    const top = step * ROW;
    const view = this.scroller.clientHeight;
    if (top < this.scroller.scrollTop || top + ROW > this.scroller.scrollTop + view) this.scroller.scrollTop = Math.max(0, top - view / 3);
    this.renderRows();
  }

  private renderRows(): void {
    const plan = this.plan;
    if (!plan) return;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / ROW) - 5);
    const last = Math.min(plan.schedule.length, Math.ceil((this.scroller.scrollTop + this.scroller.clientHeight) / ROW) + 5);
    clear(this.rows);
    this.rows.style.transform = `translateY(${first * ROW}px)`;
    for (let i = first; i < last; i++) this.rows.append(this.row(plan.schedule[i]));
  }

  private row(s: PlanStepRow): HTMLElement {
    const moved = s.movedBy ? h('span', { class: 'moved-badge', title: `moved by the ${s.movedBy} pass` }, s.movedBy.replace(/^reorder-/, '')) : null;
    const bar = h('span', { class: 'ms-bar' });
    bar.style.width = `${Math.max(1, (s.estMs / this.maxMs) * 100)}%`;
    const el = h('div', {
      class: `schedule-row${this.selectedIdx.has(s.step) ? ' selected' : ''}${s.movedBy ? ' moved' : ''}`,
      title: `${s.node}\nlayer ${s.layer || '(model)'}\n${s.phase} on ${s.unit}${s.forcedBy ? ` (override by ${s.forcedBy})` : ''}, ≈ ${formatMs(s.estMs)}`,
      attrs: { 'data-step': String(s.step), 'data-node': s.node, 'data-phase': s.phase },
      on: { click: () => this.select(s.step) },
    },
    h('span', { class: 'c-step' }, String(s.step)),
    h('span', { class: 'c-phase' }, phaseChip(s.phase)),
    h('span', { class: 'c-op' }, s.op),
    h('span', { class: 'c-node' }, s.node),
    h('span', { class: 'c-unit' }, s.unit + (s.forcedBy ? ' *' : '')),
    h('span', { class: 'c-ms' }, h('span', { class: 'ms-text' }, formatMs(s.estMs)), bar),
    h('span', { class: 'c-moved' }, moved));
    return el;
  }

  private select(step: number): void {
    if (!this.plan) return;
    this.store.selectNode(this.plan.schedule[step].node, this.plan);
    this.scroller.focus();
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.plan || (e.key !== 'ArrowDown' && e.key !== 'ArrowUp')) return;
    e.preventDefault();
    const cur = Number(this.el.dataset.selectedStep || -1);
    const next = Math.min(this.plan.schedule.length - 1, Math.max(0, cur + (e.key === 'ArrowDown' ? 1 : -1)));
    this.select(next);
    this.scrollToStep(next);
  }

  /** The whole step as one strip of phase colours; moved operators are ticked above, the selection below. */
  private drawStrip(): void {
    const plan = this.plan;
    const c = this.strip;
    const w = c.clientWidth;
    if (!plan || w === 0) return;
    const H = 28;
    const ctx = canvasContext(c, w, H);
    const n = plan.schedule.length;
    const x = (i: number): number => (i / n) * w;
    const bw = Math.max(1, w / n);
    for (const s of plan.schedule) {
      ctx.fillStyle = PHASE_COLORS[s.phase] ?? '#888';
      ctx.fillRect(x(s.step), 8, bw, 12);
      if (s.movedBy) {
        ctx.fillStyle = themeColor('--vscode-foreground', '#ccc');
        ctx.fillRect(x(s.step), 2, bw, 4);
      }
    }
    ctx.fillStyle = themeColor('--vscode-focusBorder', '#0af');
    for (const i of this.selectedIdx) ctx.fillRect(x(i) - 1, 21, Math.max(3, bw), 6);
    // The visible window.
    const top = this.scroller.scrollTop / ROW;
    const vis = this.scroller.clientHeight / ROW;
    ctx.strokeStyle = themeColor('--vscode-foreground', '#ccc');
    ctx.globalAlpha = 0.6;
    ctx.strokeRect(x(top) + 0.5, 7.5, Math.max(2, (vis / n) * w), 13);
    ctx.globalAlpha = 1;
  }

  private onStripClick(e: MouseEvent): void {
    if (!this.plan) return;
    const r = this.strip.getBoundingClientRect();
    const step = Math.min(this.plan.schedule.length - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * this.plan.schedule.length)));
    this.scroller.scrollTop = Math.max(0, step * ROW - this.scroller.clientHeight / 2);
    this.drawStrip();
  }
}

export function swatch(color: string): HTMLElement {
  const s = h('span', { class: 'swatch' });
  s.style.background = color;
  return s;
}

export function phaseChip(phase: string): HTMLElement {
  const c = h('span', { class: 'phase-chip' }, phase);
  c.style.borderLeftColor = PHASE_COLORS[phase] ?? '#888';
  return c;
}
