// Activation only: registers the graph editor, the Layers view and the commands.

import * as vscode from 'vscode';
import { GRAPH_VIEW_TYPE, GraphEditorProvider } from './views/graphEditor';
import { LayersTreeProvider } from './views/layersTree';
import { registerCommands, registerSchemeCommands } from './views/commands';
import { SchemeController } from './views/schemeController';
import { trainingStatusBar } from './views/statusBar';
import { registerDevicePicker } from './views/devicePicker';
// Export, targets, deploy and fit (issues 6-8).
import { registerExportCommand } from './views/exportCommand';
import { registerTargets } from './views/targetsTree';
import { registerDeployCommand } from './views/deployCommand';
import { registerFitCommand } from './views/fitCommand';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('PockEngine');
  const editors = new GraphEditorProvider(context.extensionUri, log);
  const layers = new LayersTreeProvider(editors);
  // Checking a parent must not check its children behind the scheme's back: the scheme decides.
  const layersView = vscode.window.createTreeView('pockengine.layers', { treeDataProvider: layers, showCollapseAll: true, canSelectMany: true, manageCheckboxStateManually: true });
  const schemes = new SchemeController(editors, log);
  editors.layerAction = (model, layer, update) => void schemes.applyLayerUpdate(model, layer, update);
  context.subscriptions.push(
    schemes,
    layersView.onDidChangeCheckboxState(async (e) => {
      const model = editors.activeGraph?.document.uri;
      if (!model) return;
      for (const [item, state] of e.items) await schemes.applyLayerUpdate(model, item.id, state === vscode.TreeItemCheckboxState.Checked ? 'full' : 'frozen');
    }),
    ...registerSchemeCommands(editors, schemes),
    ...trainingStatusBar(editors),
    ...registerDevicePicker(context, editors),
    log,
    layersView,
    vscode.window.registerCustomEditorProvider(GRAPH_VIEW_TYPE, editors, {
      // The view restores its open layers from saved state, so hidden panels need not stay alive.
      webviewOptions: { retainContextWhenHidden: false },
      supportsMultipleEditorsPerDocument: true,
    }),
    editors.onDidSelect(({ layer }) => {
      if (layer && layersView.visible) void layersView.reveal(layers.item(layer), { select: true, focus: false, expand: false }).then(undefined, () => undefined);
    }),
    ...registerCommands(editors, log),
  );
  // Export, targets, deploy and fit (issues 6-8).
  const targets = registerTargets(log);
  context.subscriptions.push(
    ...targets.disposables,
    ...registerExportCommand(editors, log),
    ...registerDeployCommand(context.extensionUri, editors, log, targets.provider),
    ...registerFitCommand(context.extensionUri, editors, schemes, log, () => layers.refresh()),
  );
}

export function deactivate(): void {}
