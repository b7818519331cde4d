// The commands of package.json: open a model in the graph editor, inspect a model (the CLI's report in
// the output channel), and the graph actions the Layers view and view titles use.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { GRAPH_VIEW_TYPE, type GraphEditorProvider } from './graphEditor';
import { loadModel } from '../compiler/loadModel';
import { formatInspect, inspectModel } from '../compiler/inspect';

/** The .onnx the user means: the explorer's selection, else the active editor or graph. */
function targetUri(editors: GraphEditorProvider, arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  const active = editors.activeGraph?.document.uri;
  if (active) return active;
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (tab instanceof vscode.TabInputText || tab instanceof vscode.TabInputCustom) return tab.uri;
  return undefined;
}

async function pickModel(editors: GraphEditorProvider, arg: unknown): Promise<vscode.Uri | undefined> {
  const uri = targetUri(editors, arg);
  if (uri && uri.path.toLowerCase().endsWith('.onnx')) return uri;
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, openLabel: 'Open Model' });
  return picked?.[0];
}

export function registerCommands(editors: GraphEditorProvider, log: vscode.OutputChannel): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('pockengine.openGraph', async (arg?: unknown) => {
      const uri = await pickModel(editors, arg);
      if (uri) await vscode.commands.executeCommand('vscode.openWith', uri, GRAPH_VIEW_TYPE);
    }),
    vscode.commands.registerCommand('pockengine.inspect', async (arg?: unknown) => {
      const uri = await pickModel(editors, arg);
      if (!uri) return;
      try {
        const src = editors.activeGraph?.document.uri.toString() === uri.toString() ? editors.activeGraph.document.source : null;
        const loaded = src && 'loaded' in src ? src.loaded : loadModel(uri.fsPath);
        log.appendLine(`\n=== ${path.basename(uri.fsPath)} ===`);
        log.appendLine(formatInspect(inspectModel(loaded)));
        log.show(true);
      } catch (e) {
        void vscode.window.showErrorMessage(`PockEngine: ${(e as Error).message}`);
      }
    }),
    vscode.commands.registerCommand('pockengine.revealLayer', (layer: string) => editors.revealLayer(layer)),
    vscode.commands.registerCommand('pockengine.graph.fit', () => editors.command('fit')),
    vscode.commands.registerCommand('pockengine.graph.collapseAll', () => editors.command('collapseAll')),
    vscode.commands.registerCommand('pockengine.graph.find', () => editors.command('focusSearch')),
  ];
}
