// The webview end of a panel's contract (the Run and Fit panels): notifications both ways in the envelope
// of src/protocol.ts. Simpler than the graph view's Host: these panels make no requests that need replies.

import type { Envelope } from '../../src/protocol';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export class PanelHost<In extends { type: string }, Out extends { type: string }> {
  private readonly api = acquireVsCodeApi();
  private nextId = 1;
  private readonly handlers = new Map<string, ((msg: In) => void)[]>();

  constructor() {
    window.addEventListener('message', (e: MessageEvent) => {
      const env = e.data as Envelope<In>;
      if (!env || typeof env !== 'object' || !env.body || typeof env.body.type !== 'string') return;
      for (const h of this.handlers.get(env.body.type) ?? []) h(env.body);
    });
  }

  post(body: Out): void {
    this.api.postMessage({ messageId: this.nextId++, body } satisfies Envelope<Out>);
  }

  on<T extends In['type']>(type: T, handler: (msg: Extract<In, { type: T }>) => void): void {
    const list = this.handlers.get(type) ?? [];
    list.push(handler as (msg: In) => void);
    this.handlers.set(type, list);
  }
}
