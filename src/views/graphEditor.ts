// The read-only custom editor for *.onnx (viewType pockengine.graph). The document is the loaded model
// (or its load error); each editor panel gets the webview page and a GraphSession that answers it. The
// provider remembers the active panel so the Layers tree and the commands can talk to it.

import * as path from 'node:path';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import { GraphSession, loadForView, openTraining, type ModelSource } from './graphSession';
import type { TrainingState } from './trainingState';
import { schemePathFor } from './schemeDocument';
import type { LayerUpdate } from '../compiler/sparse/scheme';
import { graphWebviewHtml, makeNonce } from './webviewHtml';
import { MessageType, type CommandMessage } from '../protocol';

export const GRAPH_VIEW_TYPE = 'pockengine.graph';

export class GraphDocument implements vscode.CustomDocument {
  /** The training step under the model's scheme, shared by the model's panels; null if it does not compile. */
  readonly training: TrainingState | null;
  readonly trainingError: string | null;

  constructor(readonly uri: vscode.Uri, readonly source: ModelSource, schemeText?: string | null, private readonly onDispose?: () => void) {
    const t = 'loaded' in source ? openTraining(source.loaded, uri.fsPath, schemeText) : { error: source.error };
    this.training = 'error' in t ? null : t;
    this.trainingError = 'error' in t ? t.error : null;
  }

  dispose(): void {
    this.onDispose?.();
  }
}

export interface ActiveGraph {
  document: GraphDocument;
  session: GraphSession;
  panel: vscode.WebviewPanel;
}

export class GraphEditorProvider implements vscode.CustomReadonlyEditorProvider<GraphDocument> {
  private active: ActiveGraph | null = null;
  private readonly activeChanged = new vscode.EventEmitter<ActiveGraph | null>();
  /** Fires when another graph editor becomes active, or the last one closes. */
  readonly onDidChangeActive = this.activeChanged.event;
  private readonly selected = new vscode.EventEmitter<{ graph: ActiveGraph; layer: string | null }>();
  /** The user selected a box in the active graph (its layer, when it is a layer). */
  readonly onDidSelect = this.selected.event;
  private readonly trainingChanged = new vscode.EventEmitter<GraphDocument>();
  /** A model's step was recompiled (scheme edit): the Layers tree and the status bar refresh. */
  readonly onDidChangeTraining = this.trainingChanged.event;
  private readonly open = new Set<GraphDocument>();
  /** Set by activation: where layer actions from a webview go (the scheme document). */
  layerAction: (model: vscode.Uri, layer: string, update: LayerUpdate) => void = () => undefined;

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.OutputChannel) {}

  documents(): GraphDocument[] {
    return [...this.open];
  }

  get activeGraph(): ActiveGraph | null {
    return this.active;
  }

  openCustomDocument(uri: vscode.Uri): GraphDocument {
    if (uri.scheme !== 'file') return new GraphDocument(uri, { error: `${uri.toString()} is not a local file; PockEngine opens models from disk.` });
    const t0 = Date.now();
    const source = loadForView(uri.fsPath);
    this.log.appendLine(`${path.basename(uri.fsPath)}: ${'error' in source ? `load failed: ${source.error}` : `loaded in ${Date.now() - t0} ms`}`);
    // The scheme as the editor has it (unsaved edits included), else from disk.
    const schemeFile = schemePathFor(uri.fsPath);
    const openDoc = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === schemeFile);
    const text = openDoc ? openDoc.getText() : fs.existsSync(schemeFile) ? fs.readFileSync(schemeFile, 'utf8') : null;
    let unsubscribe: (() => void) | undefined;
    const doc = new GraphDocument(uri, source, text, () => {
      unsubscribe?.();
      this.open.delete(doc);
    });
    if (doc.trainingError) this.log.appendLine(`${path.basename(uri.fsPath)}: ${doc.trainingError}`);
    else if (doc.training) {
      unsubscribe = doc.training.onDidChange(() => this.trainingChanged.fire(doc));
    }
    this.open.add(doc);
    return doc;
  }

  resolveCustomEditor(document: GraphDocument, panel: vscode.WebviewPanel): void {
    const webview = panel.webview;
    const distRoot = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    const mediaRoot = vscode.Uri.joinPath(this.extensionUri, 'media');
    webview.options = { enableScripts: true, localResourceRoots: [distRoot, mediaRoot] };
    webview.html = graphWebviewHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(distRoot, 'graph.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(mediaRoot, 'graph.css')).toString(),
      nonce: makeNonce(),
      title: path.basename(document.uri.fsPath),
    });
    let entry: ActiveGraph;
    const session = new GraphSession(document.uri.fsPath, document.source, (msg) => void webview.postMessage(msg), {
      onSelected: (_id, layer) => this.selected.fire({ graph: entry, layer }),
      onWebviewError: (m) => this.log.appendLine(`${path.basename(document.uri.fsPath)} (webview): ${m}`),
      onSetLayerUpdate: (layer, update) => this.layerAction(document.uri, layer, update),
      onExport: () => void vscode.commands.executeCommand('pockengine.export', document.uri),
    }, document.training ?? { error: document.trainingError ?? 'the model did not load' });
    entry = { document, session, panel };
    const subs = [
      webview.onDidReceiveMessage((m) => session.receive(m)),
      panel.onDidChangeViewState(() => {
        if (panel.active) this.setActive(entry);
      }),
    ];
    panel.onDidDispose(() => {
      subs.forEach((s) => s.dispose());
      session.dispose();
      if (this.active === entry) this.setActive(null);
    });
    if (panel.active) this.setActive(entry);
    // Compile the training step once the graph has had time to paint: the Layers tree's checkboxes and the
    // status bar need it, and a large model takes seconds.
    const training = document.training;
    if (training && !training.isCompiled) {
      setTimeout(() => {
        try {
          training.compile();
          this.log.appendLine(`${path.basename(document.uri.fsPath)}: training step compiled in ${training.compileMs.toFixed(0)} ms`);
        } catch (e) {
          this.log.appendLine(`${path.basename(document.uri.fsPath)}: the training step does not compile: ${(e as Error).message}`);
        }
      }, 300);
    }
  }

  /** Sends a toolbar-style command to the active graph, if any. */
  command(command: CommandMessage['command']): void {
    this.active?.session.send({ type: MessageType.Command, command });
  }

  /** Opens the groups above a layer in the active graph and selects it. */
  revealLayer(layer: string): void {
    const a = this.active;
    const where = a?.session.viewModel?.locateLayer(layer);
    if (!a || !where) return;
    a.panel.reveal(undefined, true);
    a.session.send({ type: MessageType.Reveal, graph: 'model', id: where.id, path: where.path, layer });
  }

  private setActive(a: ActiveGraph | null): void {
    if (this.active === a) return;
    this.active = a;
    this.activeChanged.fire(a);
  }
}
