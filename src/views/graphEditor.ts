// The read-only custom editor for *.onnx (viewType pockengine.graph). The document is the loaded model
// (or its load error); each editor panel gets the webview page and a GraphSession that answers it. The
// provider remembers the active panel so the Layers tree and the commands can talk to it.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { GraphSession, loadForView, type ModelSource } from './graphSession';
import { graphWebviewHtml, makeNonce } from './webviewHtml';
import { MessageType, type CommandMessage } from '../protocol';

export const GRAPH_VIEW_TYPE = 'pockengine.graph';

export class GraphDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri, readonly source: ModelSource) {}
  dispose(): void {}
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

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.OutputChannel) {}

  get activeGraph(): ActiveGraph | null {
    return this.active;
  }

  openCustomDocument(uri: vscode.Uri): GraphDocument {
    if (uri.scheme !== 'file') return new GraphDocument(uri, { error: `${uri.toString()} is not a local file; PockEngine opens models from disk.` });
    const t0 = Date.now();
    const source = loadForView(uri.fsPath);
    this.log.appendLine(`${path.basename(uri.fsPath)}: ${'error' in source ? `load failed: ${source.error}` : `loaded in ${Date.now() - t0} ms`}`);
    return new GraphDocument(uri, source);
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
    });
    entry = { document, session, panel };
    const subs = [
      webview.onDidReceiveMessage((m) => session.receive(m)),
      panel.onDidChangeViewState(() => {
        if (panel.active) this.setActive(entry);
      }),
    ];
    panel.onDidDispose(() => {
      subs.forEach((s) => s.dispose());
      if (this.active === entry) this.setActive(null);
    });
    if (panel.active) this.setActive(entry);
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
    a.session.send({ type: MessageType.Reveal, graph: 'model', id: where.id, path: where.path });
  }

  private setActive(a: ActiveGraph | null): void {
    if (this.active === a) return;
    this.active = a;
    this.activeChanged.fire(a);
  }
}
