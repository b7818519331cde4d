// Fit to budget… (Layers view title): a budget (default: the selected device's memory), a data folder, the
// contribution analysis under a cancellable progress notification, then the Fit panel with the trade-off
// curve; Apply writes the chosen scheme through the scheme controller (one undoable WorkspaceEdit).

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { fitToBudget, parseBytes, type FitResult } from '../compiler/fit/fit';
import { getProfile } from '../compiler/backends/profiles';
import type { GraphEditorProvider } from './graphEditor';
import type { SchemeController } from './schemeController';
import { planSettings } from './planSettings';
import { FitPanel } from './fitPanel';
import { fitInitMessage } from './fitModel';
import type { Scheme } from '../compiler/sparse/scheme';

const MIB = 1024 * 1024;
/** Budgets on the curve besides the requested one. */
const CURVE_POINTS = 8;

/** The budget box's default: the device's memory in MiB. */
export function defaultBudgetText(memoryBytes: number): string {
  return `${Math.round(memoryBytes / MIB)}MiB`;
}

export function validateBudget(text: string): string | null {
  try {
    return parseBytes(text) > 0 ? null : 'a budget above zero';
  } catch (e) {
    return (e as Error).message;
  }
}

export function registerFitCommand(extensionUri: vscode.Uri, editors: GraphEditorProvider, schemes: SchemeController, log: vscode.OutputChannel, onAnalysis: () => void): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('pockengine.fit', async () => {
      const active = editors.activeGraph;
      const src = active?.document.source;
      if (!active || !src || !('loaded' in src)) return void vscode.window.showInformationMessage('PockEngine: open a model in the graph editor first, then Fit to budget.');
      const modelUri = active.document.uri;
      const modelPath = modelUri.fsPath;
      let device = planSettings.device;
      let memory: number;
      try {
        memory = getProfile(device).memoryBytes;
      } catch {
        device = 'host';
        memory = getProfile('host').memoryBytes;
      }
      const budgetText = await vscode.window.showInputBox({
        title: `Fit ${path.basename(modelPath)} to a memory budget (${device})`,
        prompt: 'Peak training memory the scheme must fit: bytes or 512MB, 1.5GB, 300MiB. Default: the device\'s memory.',
        value: defaultBudgetText(memory), validateInput: validateBudget,
      });
      if (budgetText === undefined) return;
      const budgetBytes = parseBytes(budgetText);
      const guess = [path.join(path.dirname(modelPath), 'test_data'), path.dirname(modelPath)].find((d) => fs.existsSync(d));
      const data = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: 'Analyse With This Data', title: 'Sample data (input_K.pb and labels.pb) for the contribution analysis', defaultUri: guess ? vscode.Uri.file(guess) : undefined });
      if (!data?.[0]) return;
      let result: FitResult | undefined;
      try {
        result = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Fitting ${path.basename(modelPath)} to ${budgetText}`, cancellable: true },
          async (progress, token) => {
            const abort = new AbortController();
            const sub = token.onCancellationRequested(() => abort.abort());
            let last = 0;
            progress.report({ message: 'contribution analysis (or its cache)…' });
            try {
              return await fitToBudget(modelPath, src.loaded, data[0].fsPath, {
                budgetBytes, target: device, curvePoints: CURVE_POINTS, signal: abort.signal,
                onProgress: (p) => {
                  const pct = p.total ? (100 * p.done) / p.total : 0;
                  progress.report({ increment: pct - last, message: `analysis ${p.done}/${p.total}${p.unit ? ` · ${p.unit}${p.option ? ` ${p.option}` : ''}` : ''}${p.done === p.total ? ' · searching with the planner…' : ''}` });
                  last = pct;
                },
              });
            } finally {
              sub.dispose();
            }
          },
        );
      } catch (e) {
        const msg = (e as Error).message;
        if ((e as Error).name === 'AbortError' || /abort/i.test(msg)) return void vscode.window.showInformationMessage('PockEngine: fit cancelled; the scheme is unchanged.');
        log.appendLine(`fit: ${msg}`);
        return void vscode.window.showErrorMessage(`PockEngine: ${msg}`);
      }
      log.appendLine(`fit ${path.basename(modelPath)}: budget ${budgetBytes} bytes on ${device}; ${result.contributions.method} analysis${result.fromCache ? ' (cached)' : ''}; chosen peak ${result.best.peakBytes}, contribution ${result.best.contribution.toPrecision(4)}, ${result.best.choices.length} layers; ${result.compiles} planner compiles`);
      onAnalysis();
      new FitPanel(extensionUri, fitInitMessage(path.basename(modelPath), device, result), async (p) => {
        await schemes.applyScheme(modelUri, p.scheme as Scheme);
        log.appendLine(`fit: applied the ${(p.budgetBytes / MIB).toFixed(1)} MiB point (${p.choices.length} layers) to ${path.basename(schemes.schemeUri(modelUri).fsPath)}`);
        return `Applied to ${path.basename(schemes.schemeUri(modelUri).fsPath)} (Ctrl+Z in that file undoes it)`;
      });
    }),
  ];
}
