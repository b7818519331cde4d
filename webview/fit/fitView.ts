// The Fit panel: the budget-versus-contribution curve of the fit search (each point a scheme whose
// planned peak fits its budget), the chosen point's layers, and Apply, which asks the host to write that
// point's scheme into the model's scheme file. Clicking a point (or the arrow keys) chooses it.
// Test hooks: #fit-chart carries data-points, data-selected and data-positions (pixel centres of the
// points, JSON), #fit-applied carries data-ok after the host answers.

import { FitMessageType, type FitCurvePoint, type FitFromWebviewMessage, type FitInitMessage, type FitToWebviewMessage } from '../../src/protocol';
import { clear, formatBytes, h } from '../ui/dom';
import { button, registerToolkit, setDisabled } from '../ui/toolkit';
import { chartTheme, registerCharts } from '../run/charts';
import type { PanelHost } from '../run/panelHost';
import type { Chart as ChartT } from 'chart.js';

type Host = PanelHost<FitToWebviewMessage, FitFromWebviewMessage>;
/** The x axis unit that keeps the budgets readable for this model (KiB for a tiny model, GiB for an LLM). */
function axisUnit(maxBytes: number): { name: string; bytes: number } {
  if (maxBytes < 1024 ** 2) return { name: 'KiB', bytes: 1024 };
  if (maxBytes < 1024 ** 3) return { name: 'MiB', bytes: 1024 ** 2 };
  return { name: 'GiB', bytes: 1024 ** 3 };
}

export function startFitView(host: Host, root: HTMLElement): void {
  registerToolkit();
  const Chart = registerCharts();
  const theme = chartTheme();
  let init: FitInitMessage | null = null;
  let selected = -1;

  const title = h('h2', { attrs: { id: 'fit-title' } }, 'Fit to budget');
  const summary = h('span', { class: 'muted', attrs: { id: 'fit-summary' } });
  const applied = h('span', { attrs: { id: 'fit-applied', role: 'status' } });
  const applyBtn = button('Apply', { title: 'Write the chosen scheme into the model\'s scheme file (undoable)', id: 'btn-apply', appearance: 'primary', onClick: () => {
    if (!init || selected < 0) return;
    applied.textContent = 'Applying…';
    delete applied.dataset.ok;
    host.post({ type: FitMessageType.Apply, index: selected, scheme: init.points[selected].scheme });
  } });
  setDisabled(applyBtn, true);
  const canvas = h('canvas', { attrs: { id: 'fit-chart', 'data-points': '0', 'data-selected': '-1', tabindex: '0', role: 'img', 'aria-label': 'Total contribution against memory budget; click a point to choose it' } });
  const bars = h('canvas', { attrs: { id: 'fit-layers-chart', 'data-bars': '0', role: 'img', 'aria-label': 'Contribution of each layer (its best option); the chosen point\'s layers highlighted' } });
  const side = h('aside', { class: 'fit-side', attrs: { id: 'fit-details', 'aria-live': 'polite' } });
  clear(root);
  root.append(
    h('header', { class: 'panel-header' }, title, summary, h('span', { class: 'grow' }), applied, applyBtn),
    h('div', { class: 'fit-body' }, h('div', { class: 'fit-charts' }, h('div', { class: 'chart-box' }, canvas), h('div', { class: 'chart-box bars' }, bars)), side),
  );

  const chart: ChartT<'line', { x: number; y: number }[]> = new Chart(canvas, {
    type: 'line',
    data: { datasets: [{ label: 'total contribution', data: [], borderColor: theme.blue, backgroundColor: theme.blue, pointRadius: 4, pointHoverRadius: 6, tension: 0, stepped: false }] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      color: theme.fg,
      font: { family: theme.font },
      interaction: { mode: 'nearest', intersect: false, axis: 'x' },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'memory budget (MiB)', color: theme.fg }, ticks: { color: theme.fg }, grid: { color: theme.grid } },
        y: { type: 'linear', title: { display: true, text: 'total contribution (loss reduction)', color: theme.fg }, ticks: { color: theme.fg }, grid: { color: theme.grid }, beginAtZero: true },
      },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (c) => {
          const p = init?.points[c.dataIndex];
          return p ? [`budget ${formatBytes(p.budgetBytes)}, planned peak ${formatBytes(p.peakBytes)}`, `contribution ${p.contribution.toPrecision(4)}, ${p.choices.length} layers`] : '';
        } } },
      },
      onClick: (e) => {
        const hit = chart.getElementsAtEventForMode(e.native as Event, 'nearest', { intersect: false, axis: 'x' }, true)[0];
        if (hit) select(hit.index);
      },
    },
  });

  // Per-layer contributions (the analysis, best option each): the layers the chosen point updates stand out.
  const TOP = 24;
  const barChart: ChartT<'bar', number[], string> = new Chart(bars, {
    type: 'bar',
    data: { labels: [], datasets: [{ label: 'contribution (best option)', data: [], backgroundColor: [] }] },
    options: {
      animation: false, maintainAspectRatio: false, indexAxis: 'y', color: theme.fg,
      scales: {
        x: { type: 'linear', beginAtZero: true, title: { display: true, text: 'contribution of the layer alone (its best option)', color: theme.fg }, ticks: { color: theme.fg }, grid: { color: theme.grid } },
        y: { type: 'category', ticks: { color: theme.fg, autoSkip: false, font: { size: 10 } }, grid: { display: false } },
      },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => {
        const l = init?.layers[c.dataIndex];
        return l ? `${l.option}: ${l.score.toPrecision(4)}` : '';
      } } } },
    },
  });
  const drawBars = (p: FitCurvePoint | null): void => {
    const layers = (init?.layers ?? []).slice(0, TOP);
    const chosen = new Set(p?.choices.map((c) => c.unit) ?? []);
    barChart.data.labels = layers.map((l) => l.unit);
    barChart.data.datasets[0].data = layers.map((l) => l.score);
    barChart.data.datasets[0].backgroundColor = layers.map((l) => (chosen.has(l.unit) ? theme.orange : theme.grid));
    barChart.update('none');
    bars.dataset.bars = String(layers.length);
    bars.dataset.highlighted = String(layers.filter((l) => chosen.has(l.unit)).length);
  };

  const showDetails = (p: FitCurvePoint): void => {
    clear(side);
    const rows: [string, string][] = [
      ['Budget', formatBytes(p.budgetBytes)],
      ['Planned peak', formatBytes(p.peakBytes)],
      ['Total contribution', p.contribution.toPrecision(5)],
      ['Layers updated', String(p.choices.length)],
    ];
    side.append(
      h('table', {}, ...rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))),
      h('h3', {}, 'Chosen layers'),
      p.choices.length
        ? h('table', { attrs: { id: 'fit-choices' } }, h('tr', {}, h('th', {}, 'layer'), h('th', {}, 'update'), h('th', {}, 'score')),
          ...[...p.choices].sort((a, b) => b.score - a.score).map((c) => h('tr', {}, h('td', {}, c.unit), h('td', {}, c.option), h('td', {}, c.score.toPrecision(3)))))
        : h('p', { class: 'muted' }, 'Nothing fits beside the forward pass: every layer stays frozen.'),
    );
  };

  const select = (i: number): void => {
    if (!init || i < 0 || i >= init.points.length) return;
    selected = i;
    canvas.dataset.selected = String(i);
    const ds = chart.data.datasets[0] as unknown as { pointRadius: number[]; pointBackgroundColor: string[]; pointBorderColor: string[] };
    ds.pointRadius = init.points.map((_, k) => (k === i ? 8 : 4));
    ds.pointBackgroundColor = init.points.map((_, k) => (k === i ? theme.orange : theme.blue));
    ds.pointBorderColor = ds.pointBackgroundColor;
    chart.update('none');
    showDetails(init.points[i]);
    drawBars(init.points[i]);
    setDisabled(applyBtn, false);
    applied.textContent = '';
  };

  canvas.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft') select(selected - 1);
    else if (e.key === 'ArrowRight') select(selected + 1);
  });

  host.on(FitMessageType.Init, (m) => {
    init = m;
    title.textContent = `Fit ${m.model} to ${formatBytes(m.budgetBytes)} on ${m.profile}`;
    summary.textContent = `${m.method} analysis${m.fromCache ? ' (cached)' : ''} · forward only ${formatBytes(m.frozenPeakBytes)} · full update ${formatBytes(m.fullPeakBytes)}`;
    const unit = axisUnit(Math.max(m.fullPeakBytes, ...m.points.map((p) => p.budgetBytes)));
    const xScale = chart.options.scales?.x as { title: { text: string } } | undefined;
    if (xScale) xScale.title.text = `memory budget (${unit.name})`;
    chart.data.datasets[0].data = m.points.map((p) => ({ x: p.budgetBytes / unit.bytes, y: p.contribution }));
    chart.update('none');
    canvas.dataset.points = String(m.points.length);
    canvas.dataset.positions = JSON.stringify(chart.getDatasetMeta(0).data.map((el) => [Math.round(el.x), Math.round(el.y)]));
    select(m.chosen);
  });
  host.on(FitMessageType.Applied, (m) => {
    applied.textContent = m.message;
    applied.dataset.ok = String(m.ok);
  });
  host.post({ type: FitMessageType.Ready });
}
