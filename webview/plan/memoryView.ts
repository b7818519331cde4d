// The Memory tab: bytes live at each step of the schedule as a stacked area by category (fixed colours, as
// PyTorch's memory profiler draws them), the arena size (the plan's peak) marked with its value, and the
// step without reordering and with a full update as outlines. Hovering a step lists its live tensors;
// clicking selects its operator. Below, the arena: each tensor a rectangle at its offset over its lifetime.

import {
  Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type Plugin, type ChartDataset,
} from 'chart.js';
import type { InitMessage, PlanData, PlanTensorRow } from '../../src/protocol';
import { CATEGORY_COLORS, CATEGORY_LABELS, CATEGORY_ORDER, liveRowsAt } from '../../src/compiler/view/planView';
import type { Host } from '../host';
import type { TabView } from '../tabView';
import { append, clear, formatBytes, formatCount, h } from '../ui/dom';
import { adoptPlanStyles, planMessage, planToolbar, themeColor, canvasContext } from './common';
import { planStore, type PlanStore } from './planStore';
import { phaseChip, swatch } from './scheduleView';

Chart.register(LineController, LineElement, PointElement, LinearScale, Filler, Tooltip, Legend);

const MAX_LIVE_ROWS = 60;

export class MemoryView implements TabView {
  readonly el = h('div', { class: 'plan-view memory-view', attrs: { id: 'memory-view' } });
  private readonly store: PlanStore;
  private readonly toolbar;
  private readonly canvas = h('canvas', { attrs: { id: 'memory-chart' } });
  private readonly arena = h('canvas', { attrs: { id: 'memory-arena' } });
  private readonly live = h('div', { class: 'memory-live', attrs: { id: 'memory-live' } });
  private readonly msg = h('div');
  private chart: Chart | null = null;
  private plan: PlanData | null = null;
  private hoverStep = -1;
  private arenaX = { left: 0, right: 0, n: 1 };
  private selectedStep = -1;

  constructor(host: Host) {
    adoptPlanStyles();
    this.store = planStore(host);
    this.toolbar = planToolbar(this.store, 'memory');
    const chartBox = h('div', { class: 'memory-chart-box' }, this.canvas);
    const arenaBox = h('div', { class: 'memory-arena-box' }, h('div', { class: 'section-title' }, 'Arena: offset (up) over the schedule (right); one rectangle per tensor'), this.arena);
    const main = h('div', { class: 'memory-main' }, chartBox, arenaBox);
    this.el.append(this.toolbar.el, this.msg, h('div', { class: 'memory-body' }, main, this.live));
    this.arena.addEventListener('mousemove', (e) => this.onArenaHover(e));
    this.arena.addEventListener('click', () => this.hoverStep >= 0 && this.selectStep(this.hoverStep));
    new ResizeObserver(() => this.drawArena()).observe(arenaBox);
    this.store.onPlan((r) => this.show(r));
    this.store.onSelection((s) => {
      const i = this.plan?.schedule.findIndex((r) => r.node === s.primary) ?? -1;
      this.selectedStep = i;
      this.el.dataset.selectedStep = i < 0 ? '' : String(i);
      this.chart?.update('none');
      this.drawArena();
    });
  }

  async start(_init: InitMessage): Promise<void> {
    this.el.dataset.state = 'loading';
    this.msg.append(planMessage('Compiling the plan of the training step…'));
    this.show(await this.store.load());
  }

  shown(): void {
    this.chart?.resize();
    this.drawArena();
  }

  private show(r: { plan: PlanData } | { error: string }): void {
    clear(this.msg);
    if ('error' in r) {
      this.msg.append(planMessage(r.error, true));
      this.el.dataset.state = 'error';
      return;
    }
    const plan = r.plan;
    this.plan = plan;
    const m = plan.memory;
    this.toolbar.update(plan);
    clear(this.toolbar.summary);
    const ratio = (x: number | null): string => (x === null || m.peakBytes === 0 ? '' : ` (${(x / m.peakBytes).toFixed(1)}×)`);
    this.toolbar.summary.append(
      h('span', { class: 'peak-label' }, 'Peak '),
      h('strong', { attrs: { id: 'memory-peak', 'data-bytes': String(m.peakBytes) }, title: 'The arena size: what the step allocates' }, `${formatCount(m.peakBytes)} B`),
      h('span', { class: 'muted' }, ` = ${formatBytes(m.peakBytes)} at step ${m.peakStep}`),
      h('span', { class: 'muted' }, ' · '),
      h('span', { attrs: { id: 'memory-peak-noreorder', 'data-bytes': String(m.peakBytesNoReorder ?? '') } },
        m.peakBytesNoReorder === null ? (m.compared ? '' : 'planning without reordering and with a full update…') : `without reordering ${formatBytes(m.peakBytesNoReorder)}${ratio(m.peakBytesNoReorder)}`),
      h('span', { class: 'muted' }, ' · '),
      h('span', { attrs: { id: 'memory-peak-full', 'data-bytes': String(m.peakBytesFullUpdate ?? '') } },
        m.peakBytesFullUpdate === null ? '' : `full update ${formatBytes(m.peakBytesFullUpdate)}${ratio(m.peakBytesFullUpdate)}`),
    );
    this.drawChart(plan);
    this.drawArena();
    this.showLive(this.hoverStep >= 0 && this.hoverStep < plan.schedule.length ? this.hoverStep : m.peakStep);
    this.el.dataset.planVersion = String(plan.planVersion);
    this.el.dataset.compared = String(m.compared);
    this.el.dataset.state = 'ready';
  }

  private drawChart(plan: PlanData): void {
    const m = plan.memory;
    const n = plan.schedule.length;
    const fg = themeColor('--vscode-foreground', '#ccc');
    const grid = themeColor('--vscode-panel-border', 'rgba(128,128,128,0.3)');
    const stacked: ChartDataset<'line', { x: number; y: number }[]>[] = CATEGORY_ORDER.filter((c) => m.byCategory[c]?.some((b) => b > 0)).map((c) => ({
      label: CATEGORY_LABELS[c], data: m.byCategory[c].map((y, x) => ({ x, y })), stack: 'live', fill: true,
      backgroundColor: CATEGORY_COLORS[c] + 'cc', borderColor: CATEGORY_COLORS[c], borderWidth: 0.5, pointRadius: 0, pointHoverRadius: 0, stepped: 'middle' as const,
    }));
    // The comparison plans have their own step counts: stretched to this step's width ("how far through the step").
    const outline = (label: string, data: number[] | null, color: string, dash: number[]): ChartDataset<'line', { x: number; y: number }[]> | null => data && data.length ? {
      label, data: data.map((y, i) => ({ x: data.length > 1 ? (i * (n - 1)) / (data.length - 1) : 0, y })), stack: label, fill: false,
      borderColor: color, borderDash: dash, borderWidth: 1.5, pointRadius: 0, pointHoverRadius: 0, backgroundColor: 'transparent',
    } : null;
    const datasets = [
      ...stacked,
      outline('without reordering', m.noReorder, fg, [5, 3]),
      outline('full update', m.fullUpdate, '#f14c4c', [2, 2]),
    ].filter((d): d is ChartDataset<'line', { x: number; y: number }[]> => d !== null);
    const self = this;
    const marks: Plugin<'line'> = {
      id: 'planMarks',
      afterDatasetsDraw(chart) {
        const { ctx, chartArea: a, scales } = chart;
        const y = scales.y.getPixelForValue(m.peakBytes);
        ctx.save();
        ctx.strokeStyle = fg;
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        ctx.moveTo(a.left, y);
        ctx.lineTo(a.right, y);
        ctx.stroke();
        ctx.setLineDash([]);
        const px = scales.x.getPixelForValue(m.peakStep);
        const py = scales.y.getPixelForValue(m.liveBytesPeak);
        ctx.fillStyle = fg;
        ctx.beginPath();
        ctx.arc(px, py, 4, 0, Math.PI * 2);
        ctx.fill();
        ctx.font = `bold 12px ${themeColor('--vscode-font-family', 'sans-serif')}`;
        const label = `peak (arena) ${formatBytes(m.peakBytes)}`;
        const tw = ctx.measureText(label).width;
        ctx.fillText(label, Math.min(Math.max(a.left + 4, px - tw / 2), a.right - tw - 4), y - 6);
        for (const [step, color] of [[self.selectedStep, themeColor('--vscode-focusBorder', '#0af')], [self.hoverStep, fg]] as const) {
          if (step < 0) continue;
          const sx = scales.x.getPixelForValue(step);
          ctx.strokeStyle = color;
          ctx.globalAlpha = step === self.hoverStep ? 0.5 : 1;
          ctx.beginPath();
          ctx.moveTo(sx, a.top);
          ctx.lineTo(sx, a.bottom);
          ctx.stroke();
          ctx.globalAlpha = 1;
        }
        ctx.restore();
      },
    };
    const maxY = Math.max(m.peakBytes, ...(m.noReorder ?? [0]), ...(m.fullUpdate ?? [0])) * 1.08;
    if (this.chart) this.chart.destroy();
    this.chart = new Chart(this.canvas, {
      type: 'line',
      data: { datasets },
      plugins: [marks],
      options: {
        animation: false, parsing: false, normalized: true, responsive: true, maintainAspectRatio: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: { type: 'linear', min: 0, max: Math.max(1, n - 1), title: { display: true, text: 'schedule step', color: fg }, ticks: { color: fg }, grid: { color: grid } },
          y: { type: 'linear', stacked: true, min: 0, max: maxY, title: { display: true, text: 'bytes live', color: fg }, ticks: { color: fg, callback: (v) => formatBytes(Number(v)) }, grid: { color: grid } },
        },
        plugins: {
          legend: { position: 'top', labels: { color: fg, boxWidth: 12, font: { size: 11 } } },
          tooltip: { enabled: false },
        },
        onHover: (e) => {
          if (!this.chart || e.x === null) return;
          const step = Math.round(this.chart.scales.x.getValueForPixel(e.x) ?? -1);
          if (step >= 0 && step < n && step !== this.hoverStep) this.hover(step);
        },
        onClick: (e) => {
          if (!this.chart || e.x === null) return;
          const step = Math.round(this.chart.scales.x.getValueForPixel(e.x) ?? -1);
          if (step >= 0 && step < n) this.selectStep(step);
        },
      },
    });
    (this.canvas as HTMLCanvasElement & { __chart?: Chart }).__chart = this.chart;
  }

  private hover(step: number): void {
    this.hoverStep = step;
    this.showLive(step);
    this.chart?.update('none');
    this.drawArena();
  }

  private selectStep(step: number): void {
    if (!this.plan) return;
    this.store.selectNode(this.plan.schedule[step].node, this.plan);
  }

  /** The live tensors at a step, largest first (the same rule as the compiler's liveTensorsAt). */
  private showLive(step: number): void {
    const plan = this.plan;
    if (!plan) return;
    const s = plan.schedule[step];
    const live = liveRowsAt(plan.memory.tensors, step).sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
    const total = live.reduce((a, t) => a + t.bytes, 0);
    clear(this.live);
    this.live.dataset.step = String(step);
    this.live.dataset.count = String(live.length);
    this.live.dataset.bytes = String(total);
    append(this.live,
      h('div', { class: 'section-title' }, `Step ${step}`, s ? h('span', {}, ' ', phaseChip(s.phase), ` ${s.op}`) : null),
      s ? h('div', { class: 'muted live-node', title: s.node }, s.node) : null,
      h('div', { class: 'live-total' }, `${formatCount(live.length)} tensors live, ${formatBytes(total)}`),
      h('table', { class: 'live-table' }, ...live.slice(0, MAX_LIVE_ROWS).map((t) => this.liveRow(t))),
      live.length > MAX_LIVE_ROWS ? h('div', { class: 'muted' }, `… and ${formatCount(live.length - MAX_LIVE_ROWS)} smaller ones`) : null,
    );
  }

  private liveRow(t: PlanTensorRow): HTMLElement {
    return h('tr', { attrs: { 'data-name': t.name, 'data-bytes': String(t.bytes) }, title: `${t.name}\n${CATEGORY_LABELS[t.category]}\noffset ${formatCount(t.offset)}, steps ${t.firstStep}–${t.lastStep}` },
      h('td', {}, swatch(CATEGORY_COLORS[t.category])), h('td', { class: 'live-name' }, t.name), h('td', { class: 'num' }, formatBytes(t.bytes)));
  }

  /** The arena (canvas): x = step, y = offset; the hovered step's live tensors are outlined. */
  private drawArena(): void {
    const plan = this.plan;
    const c = this.arena;
    const w = c.clientWidth;
    const H = c.clientHeight;
    if (!plan || w === 0 || H === 0) return;
    const ctx = canvasContext(c, w, H);
    const n = Math.max(1, plan.schedule.length);
    const top = Math.max(1, plan.memory.peakBytes);
    // The same x range as the chart above (its plot area), so a step lines up in both; offsets in the margin.
    const area = this.chart?.chartArea;
    const left = area ? area.left : 0, right = area ? Math.min(w, area.right) : w;
    const m = Math.max(1, n - 1); // the chart's x axis runs 0..n-1 with step centres on the ticks
    this.arenaX = { left, right, n: m };
    const X = (s: number): number => left + (s / m) * (right - left);
    const Y = (b: number): number => H - (b / top) * (H - 4);
    const fgText = themeColor('--vscode-descriptionForeground', '#999');
    ctx.fillStyle = fgText;
    ctx.font = `11px ${themeColor('--vscode-font-family', 'sans-serif')}`;
    ctx.textAlign = 'right';
    for (const f of [0, 0.25, 0.5, 0.75, 1]) ctx.fillText(formatBytes(Math.round(top * f)), left - 6, Math.min(H - 2, Math.max(10, Y(top * f) + 4)));
    ctx.textAlign = 'left';
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, 0, right - left, H);
    ctx.clip();
    ctx.strokeStyle = themeColor('--vscode-panel-border', 'rgba(128,128,128,0.4)');
    ctx.strokeRect(left + 0.5, 0.5, right - left - 1, H - 1);
    for (const t of plan.memory.tensors) {
      ctx.fillStyle = CATEGORY_COLORS[t.category] + 'bb';
      const x0 = X(t.firstStep - 0.5), x1 = X(t.lastStep + 0.5);
      const y0 = Y(t.offset + t.bytes), y1 = Y(t.offset);
      ctx.fillRect(x0, y0, Math.max(1, x1 - x0), Math.max(0.5, y1 - y0));
    }
    ctx.restore();
    const fg = themeColor('--vscode-foreground', '#ccc');
    for (const [step, alpha] of [[this.selectedStep, 1], [this.hoverStep, 0.5]] as const) {
      if (step < 0) continue;
      ctx.strokeStyle = step === this.selectedStep ? themeColor('--vscode-focusBorder', '#0af') : fg;
      ctx.globalAlpha = alpha;
      ctx.beginPath();
      ctx.moveTo(X(step), 0);
      ctx.lineTo(X(step), H);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
  }

  private onArenaHover(e: MouseEvent): void {
    if (!this.plan) return;
    const r = this.arena.getBoundingClientRect();
    const { left, right, n } = this.arenaX;
    const step = Math.min(this.plan.schedule.length - 1, Math.max(0, Math.round(((e.clientX - r.left - left) / Math.max(1, right - left)) * n)));
    if (step !== this.hoverStep) this.hover(step);
  }
}
