// Activation only: registers the graph editor, the Layers view and the commands.

import * as vscode from 'vscode';
import { GRAPH_VIEW_TYPE, GraphEditorProvider } from './views/graphEditor';
import { LayersTreeProvider } from './views/layersTree';
import { registerCommands } from './views/commands';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('PockEngine');
  const editors = new GraphEditorProvider(context.extensionUri, log);
  const layers = new LayersTreeProvider(editors);
  const layersView = vscode.window.createTreeView('pockengine.layers', { treeDataProvider: layers, showCollapseAll: true });
  context.subscriptions.push(
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
}

export function deactivate(): void {}
