// The commands of package.json: open a model in the graph editor, inspect a model (the CLI's report in
// the output channel), and the graph actions the Layers view and view titles use.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { GRAPH_VIEW_TYPE, type GraphEditorProvider } from './graphEditor';
import { loadModel } from '../compiler/loadModel';
import { formatInspect, inspectModel } from '../compiler/inspect';
import { presetScheme } from '../compiler/sparse/presets';
import type { LayerUpdate } from '../compiler/sparse/scheme';
import type { SchemeController } from './schemeController';
import type { LayerItem } from './layersTree';

/** The Layers tree's context menu: command suffix -> update. */
export const LAYER_UPDATE_COMMANDS: [string, LayerUpdate][] = [
  ['full', 'full'], ['bias', 'bias'], ['channels2', { channels: 0.5 }], ['channels4', { channels: 0.25 }], ['channels8', { channels: 0.125 }], ['frozen', 'frozen'],
];

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

/** The scheme commands: layer updates (Layers tree context menu), presets (its title bar), open the file. */
export function registerSchemeCommands(editors: GraphEditorProvider, schemes: SchemeController): vscode.Disposable[] {
  const model = (): vscode.Uri | undefined => {
    const uri = editors.activeGraph?.document.uri;
    if (!uri) void vscode.window.showInformationMessage('PockEngine: open a model first.');
    return uri;
  };
  const preset = async (name: string): Promise<void> => {
    const a = editors.activeGraph;
    const uri = model();
    const src = a?.document.source;
    if (!uri || !src || !('loaded' in src)) return;
    let preset = name;
    if (name === 'last-N') {
      const n = await vscode.window.showInputBox({ prompt: 'Train the last N blocks fully (plus all biases). N =', value: '2', validateInput: (v) => (/^\d+$/.test(v.trim()) ? null : 'a whole number, 0 or more') });
      if (n === undefined) return;
      preset = `last-${n.trim()}`;
    }
    const scheme = presetScheme(preset, src.loaded.model.graph, src.loaded.layers);
    if (scheme) await schemes.applyScheme(uri, scheme);
  };
  return [
    ...LAYER_UPDATE_COMMANDS.map(([suffix, update]) =>
      vscode.commands.registerCommand(`pockengine.layer.${suffix}`, async (item?: LayerItem, selected?: LayerItem[]) => {
        const uri = model();
        if (!uri || !item) return;
        for (const it of selected?.length ? selected : [item]) await schemes.applyLayerUpdate(uri, it.id, update);
      })),
    vscode.commands.registerCommand('pockengine.scheme.full', () => preset('full')),
    vscode.commands.registerCommand('pockengine.scheme.biasOnly', () => preset('bias-only')),
    vscode.commands.registerCommand('pockengine.scheme.lastN', () => preset('last-N')),
    vscode.commands.registerCommand('pockengine.scheme.classifierOnly', () => preset('classifier-only')),
    vscode.commands.registerCommand('pockengine.scheme.open', async () => {
      const uri = model();
      if (!uri) return;
      const file = schemes.schemeUri(uri);
      try {
        await vscode.workspace.fs.stat(file);
      } catch {
        // No file yet: write the scheme in effect (the default) so there is something to edit.
        const t = editors.activeGraph?.document.training;
        if (t) await schemes.applyScheme(uri, t.scheme);
      }
      await vscode.window.showTextDocument(file);
    }),
  ];
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
