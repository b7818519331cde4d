// The Fit panel's host side: shows the budget-versus-contribution curve of one fit and, on Apply, hands
// the chosen point's scheme (the host's own copy, not the webview's) to the scheme controller.

import * as vscode from 'vscode';
import { FitMessageType, isEnvelope, type Envelope, type FitFromWebviewMessage, type FitToWebviewMessage } from '../protocol';
import type { FitInitWithPoints } from './fitModel';
import type { FitPoint } from '../compiler/fit/search';
import { makeNonce, panelWebviewHtml } from './webviewHtml';

export class FitPanel {
  readonly panel: vscode.WebviewPanel;
  private nextId = 1;

  constructor(extensionUri: vscode.Uri, private readonly init: FitInitWithPoints, private readonly apply: (p: FitPoint) => Promise<string>) {
    const distRoot = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    const mediaRoot = vscode.Uri.joinPath(extensionUri, 'media');
    this.panel = vscode.window.createWebviewPanel('pockengine.fit', `Fit: ${init.model}`, vscode.ViewColumn.Active, { enableScripts: true, localResourceRoots: [distRoot, mediaRoot] });
    const w = this.panel.webview;
    w.html = panelWebviewHtml({
      cspSource: w.cspSource, nonce: makeNonce(), title: `Fit ${init.model}`,
      scriptUri: w.asWebviewUri(vscode.Uri.joinPath(distRoot, 'fit.js')).toString(),
      styleUri: w.asWebviewUri(vscode.Uri.joinPath(mediaRoot, 'panels.css')).toString(),
    });
    w.onDidReceiveMessage((raw) => void this.receive(raw));
  }

  private send(body: FitToWebviewMessage): void {
    void this.panel.webview.postMessage({ messageId: this.nextId++, body } satisfies Envelope<FitToWebviewMessage>);
  }

  private async receive(raw: unknown): Promise<void> {
    if (!isEnvelope(raw)) return;
    const msg = (raw as Envelope<FitFromWebviewMessage>).body;
    if (msg.type === FitMessageType.Ready) {
      const { pointsFull: _omit, ...init } = this.init;
      this.send(init);
    } else if (msg.type === FitMessageType.Apply) {
      const p = this.init.pointsFull[msg.index];
      if (!Number.isInteger(msg.index) || !p) return;
      try {
        this.send({ type: FitMessageType.Applied, ok: true, message: await this.apply(p) });
      } catch (e) {
        this.send({ type: FitMessageType.Applied, ok: false, message: (e as Error).message });
      }
    }
  }
}
