// The Run panel's host side: a webview panel per run that receives the step points and the run's state,
// and forwards Stop and Pull parameters to the deploy command. It keeps the points, so a panel that was
// hidden and shown again (or reloaded) draws the whole run.

import * as vscode from 'vscode';
import { isEnvelope, RunMessageType, type Envelope, type RunFromWebviewMessage, type RunState, type RunStepPoint, type RunToWebviewMessage } from '../protocol';
import { makeNonce, panelWebviewHtml } from './webviewHtml';
import { PointThinner } from './runPoints';

/** Steps are batched to the webview at this pace, so a fast run does not flood it with messages. */
const FLUSH_MS = 100;

export interface RunPanelActions {
  stop(): void;
  pull(): void;
}

export class RunPanel {
  /** The run so far, thinned (for a panel that reloads); `pending`: not yet sent to the webview. */
  private readonly history = new PointThinner<RunStepPoint>();
  private pending: RunStepPoint[] = [];
  private state: RunState = 'deploying';
  private message = '';
  private canPull = false;
  private nextId = 1;
  private ready = false;
  private isDisposed = false;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  readonly panel: vscode.WebviewPanel;

  constructor(extensionUri: vscode.Uri, private readonly info: { target: string; exportDir: string; steps: number }, private readonly actions: RunPanelActions) {
    const distRoot = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    const mediaRoot = vscode.Uri.joinPath(extensionUri, 'media');
    this.panel = vscode.window.createWebviewPanel('pockengine.run', `Run on ${info.target}`, vscode.ViewColumn.Active, {
      enableScripts: true, localResourceRoots: [distRoot, mediaRoot], retainContextWhenHidden: true,
    });
    const w = this.panel.webview;
    w.html = panelWebviewHtml({
      cspSource: w.cspSource, nonce: makeNonce(), title: `Run on ${info.target}`,
      scriptUri: w.asWebviewUri(vscode.Uri.joinPath(distRoot, 'run.js')).toString(),
      styleUri: w.asWebviewUri(vscode.Uri.joinPath(mediaRoot, 'panels.css')).toString(),
    });
    w.onDidReceiveMessage((raw) => this.receive(raw));
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  onDidDispose(fn: () => void): void {
    this.panel.onDidDispose(() => {
      this.isDisposed = true;
      fn();
    });
  }

  private send(body: RunToWebviewMessage): void {
    if (this.isDisposed || !this.ready) return;
    void this.panel.webview.postMessage({ messageId: this.nextId++, body } satisfies Envelope<RunToWebviewMessage>);
  }

  private receive(raw: unknown): void {
    if (!isEnvelope(raw)) return;
    const msg = (raw as Envelope<RunFromWebviewMessage>).body;
    if (msg.type === RunMessageType.Ready) {
      this.ready = true;
      this.send({ type: RunMessageType.Init, ...this.info, state: this.state, points: this.history.points() });
      this.pending = [];
      this.send({ type: RunMessageType.Status, state: this.state, message: this.message, canPull: this.canPull });
    } else if (msg.type === RunMessageType.Stop) this.actions.stop();
    else if (msg.type === RunMessageType.Pull) this.actions.pull();
  }

  /** Queues a step; queued steps go to the webview together, at most every FLUSH_MS. */
  step(point: RunStepPoint): void {
    this.history.add(point);
    this.pending.push(point);
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    // Before the webview is ready its Init carries every point so far.
    if (!this.ready || this.isDisposed) return;
    if (this.pending.length) this.send({ type: RunMessageType.Step, points: this.pending });
    this.pending = [];
  }

  status(state: RunState, message: string, canPull = false): void {
    this.flush();
    this.state = state;
    this.message = message;
    this.canPull = canPull;
    this.send({ type: RunMessageType.Status, state, message, canPull });
  }
}
