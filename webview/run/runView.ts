// The Run panel: a live chart of loss and step time as `train`'s JSON lines arrive from the device, the
// run's state, Stop (ends the remote process) and Pull parameters (after a run that saved them).
// Test hooks: #run-chart carries data-points, data-drawn (points with a pixel position) and data-last-x/y
// (the last loss point's pixel position, so a test can tell the point was drawn, not only received), #run-status carries data-state.

import { RunMessageType, type RunFromWebviewMessage, type RunState, type RunStepPoint, type RunToWebviewMessage } from '../../src/protocol';
import { clear, h } from '../ui/dom';
import { button, registerToolkit, setDisabled } from '../ui/toolkit';
import { chartTheme, registerCharts } from './charts';
import type { PanelHost } from './panelHost';
import { PointThinner } from '../../src/views/runPoints';
import type { Chart as ChartT } from 'chart.js';

type Host = PanelHost<RunToWebviewMessage, RunFromWebviewMessage>;

const STATE_TEXT: Record<RunState, string> = {
  deploying: 'Copying the export and data…', running: 'Training', stopping: 'Stopping…', stopped: 'Stopped', finished: 'Finished', failed: 'Failed',
};

export function startRunView(host: Host, root: HTMLElement): void {
  registerToolkit();
  const Chart = registerCharts();
  const theme = chartTheme();
  const title = h('h2', { attrs: { id: 'run-title' } }, 'Training run');
  const status = h('span', { class: 'run-status', attrs: { id: 'run-status', 'data-state': 'deploying', role: 'status' } }, STATE_TEXT.deploying);
  const last = h('span', { class: 'muted', attrs: { id: 'run-last' } });
  const stopBtn = button('Stop', { title: 'End the training process on the device', id: 'btn-stop', appearance: 'primary', onClick: () => {
    setDisabled(stopBtn, true);
    host.post({ type: RunMessageType.Stop });
  } });
  const pullBtn = button('Pull parameters…', { title: 'Copy the updated parameters (.pb) back into a folder you choose', id: 'btn-pull', onClick: () => host.post({ type: RunMessageType.Pull }) });
  setDisabled(pullBtn, true);
  const canvas = h('canvas', { attrs: { id: 'run-chart', 'data-points': '0', role: 'img', 'aria-label': 'Loss and step time per step' } });
  const message = h('pre', { class: 'run-message', attrs: { id: 'run-message' } });
  clear(root);
  root.append(
    h('header', { class: 'panel-header' }, title, status, h('span', { class: 'grow' }), last, stopBtn, pullBtn),
    h('div', { class: 'chart-box' }, canvas),
    message,
  );

  const chart: ChartT<'line', { x: number; y: number }[]> = new Chart(canvas, {
    type: 'line',
    data: {
      datasets: [
        { label: 'loss', data: [], yAxisID: 'y', borderColor: theme.blue, backgroundColor: theme.blue, pointRadius: 2, tension: 0 },
        { label: 'step time (ms)', data: [], yAxisID: 'ms', borderColor: theme.orange, backgroundColor: theme.orange, pointRadius: 2, borderDash: [4, 3], tension: 0 },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      color: theme.fg,
      font: { family: theme.font },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'step', color: theme.fg }, ticks: { color: theme.fg, precision: 0 }, grid: { color: theme.grid } },
        y: { type: 'linear', position: 'left', title: { display: true, text: 'loss', color: theme.fg }, ticks: { color: theme.fg }, grid: { color: theme.grid } },
        ms: { type: 'linear', position: 'right', title: { display: true, text: 'ms per step', color: theme.fg }, ticks: { color: theme.fg }, grid: { drawOnChartArea: false }, beginAtZero: true },
      },
      plugins: { legend: { labels: { color: theme.fg } } },
    },
  });

  const redraw = (received: number): void => {
    chart.update('none');
    const lossData = chart.data.datasets[0].data;
    canvas.dataset.points = String(received);
    const drawn = chart.getDatasetMeta(0).data;
    canvas.dataset.drawn = String(drawn.filter((e) => Number.isFinite(e.x) && Number.isFinite(e.y)).length);
    const el = drawn[lossData.length - 1];
    if (el) {
      canvas.dataset.lastX = el.x.toFixed(1);
      canvas.dataset.lastY = el.y.toFixed(1);
    }
    const p = lossData[lossData.length - 1];
    const msData = chart.data.datasets[1].data;
    const t = msData[msData.length - 1];
    if (p) last.textContent = `step ${p.x} · loss ${p.y.toPrecision(5)}${t && t.x === p.x ? ` · ${t.y.toPrecision(3)} ms` : ''}`;
  };
  // A long run keeps a bounded, evenly thinned curve; points are drawn as dots only while they are few.
  let loss = new PointThinner<{ x: number; y: number }>();
  let ms = new PointThinner<{ x: number; y: number }>();
  const add = (pts: RunStepPoint[]): void => {
    for (const p of pts) {
      if (!Number.isFinite(p.step) || !Number.isFinite(p.loss)) continue;
      loss.add({ x: p.step, y: p.loss });
      if (typeof p.ms === 'number' && Number.isFinite(p.ms)) ms.add({ x: p.step, y: p.ms });
    }
    chart.data.datasets[0].data = loss.points();
    chart.data.datasets[1].data = ms.points();
    for (const ds of chart.data.datasets) (ds as { pointRadius?: number }).pointRadius = ds.data.length > 200 ? 0 : 2;
    redraw(loss.received);
  };
  const setState = (state: RunState, text?: string): void => {
    status.dataset.state = state;
    status.textContent = STATE_TEXT[state];
    if (text !== undefined) message.textContent = text;
    setDisabled(stopBtn, state !== 'running' && state !== 'deploying');
  };

  host.on(RunMessageType.Init, (m) => {
    title.textContent = `Training on ${m.target}`;
    title.title = `${m.exportDir}, ${m.steps} steps`;
    loss = new PointThinner();
    ms = new PointThinner();
    add(m.points);
    setState(m.state);
  });
  host.on(RunMessageType.Step, (m) => add(m.points));
  host.on(RunMessageType.Status, (m) => {
    setState(m.state, m.message);
    setDisabled(pullBtn, !m.canPull);
  });
  host.post({ type: RunMessageType.Ready });
}
