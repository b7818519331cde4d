// The status bar item of the active model: trainable parameters and backward FLOPs under its scheme, so a
// toggle's effect is visible wherever the user looks. Clicking it opens the scheme file.

import * as vscode from 'vscode';
import type { GraphEditorProvider } from './graphEditor';

export function trainingStatusBar(editors: GraphEditorProvider): vscode.Disposable[] {
  const item = vscode.window.createStatusBarItem('pockengine.training', vscode.StatusBarAlignment.Left, 50);
  item.name = 'PockEngine training step';
  item.command = 'pockengine.scheme.open';
  const refresh = (): void => {
    const t = editors.activeGraph?.document.training;
    if (!t || !t.isCompiled) return item.hide(); // shown once the step has compiled (after the first paint)
    const info = t.info();
    item.text = `$(flame) ${compact(info.trainableParams)} / ${compact(info.totalParams)} params · bwd ${compact(info.counts.backward.flops)}FLOP`;
    item.tooltip = new vscode.MarkdownString(
      `**Training step** under \`${info.schemeSource}\`\n\n` +
      `- Trainable parameters: ${info.trainableParams.toLocaleString('en-US')} of ${info.totalParams.toLocaleString('en-US')}\n` +
      `- Backward: ${info.counts.backward.nodes} nodes (${info.counts.backward.pruned} pruned), ${info.counts.backward.flops.toLocaleString('en-US')} FLOPs\n` +
      (info.schemeError ? `\n$(error) ${info.schemeError}` : ''), true);
    item.backgroundColor = info.schemeError ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    item.show();
  };
  refresh();
  return [item, editors.onDidChangeActive(refresh), editors.onDidChangeTraining(refresh)];
}

function compact(n: number): string {
  if (n < 1e3) return String(n);
  if (n < 1e6) return `${+(n / 1e3).toPrecision(3)}K`;
  if (n < 1e9) return `${+(n / 1e6).toPrecision(3)}M`;
  if (n < 1e12) return `${+(n / 1e9).toPrecision(3)}G`;
  return `${+(n / 1e12).toPrecision(3)}T`;
}
