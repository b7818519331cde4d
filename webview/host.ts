// The webview's end of the protocol: typed requests that resolve with the host's reply, notifications
// both ways, and the persisted view state. All messages use the envelope of src/protocol.ts.

import {
  MessageType, type Envelope, type FromWebviewMessage, type ReplyMessage, type ReplyOf, type RequestMessage,
  type ToWebviewMessage,
} from '../src/protocol';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type Handler<T extends ToWebviewMessage['type']> = (msg: Extract<ToWebviewMessage, { type: T }>) => void;

export class Host {
  private readonly api = acquireVsCodeApi();
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly handlers = new Map<string, ((msg: ToWebviewMessage) => void)[]>();

  constructor() {
    window.addEventListener('message', (e: MessageEvent) => this.dispatch(e.data));
  }

  request<T extends RequestMessage>(body: T): Promise<ReplyOf<T['type']>> {
    const messageId = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(messageId, { resolve: resolve as (v: unknown) => void, reject });
      this.api.postMessage({ messageId, body } satisfies Envelope<FromWebviewMessage>);
    });
  }

  notify(body: Exclude<FromWebviewMessage, RequestMessage>): void {
    this.api.postMessage({ messageId: this.nextId++, body } satisfies Envelope<FromWebviewMessage>);
  }

  on<T extends ToWebviewMessage['type']>(type: T, handler: Handler<T>): void {
    const list = this.handlers.get(type) ?? [];
    list.push(handler as (msg: ToWebviewMessage) => void);
    this.handlers.set(type, list);
  }

  getState<S>(): S | undefined {
    return (this.api.getState() as S | null) ?? undefined;
  }

  setState<S>(s: S): void {
    this.api.setState(s);
  }

  private dispatch(data: unknown): void {
    const env = data as Envelope<ToWebviewMessage>;
    if (!env || typeof env !== 'object' || !env.body || typeof env.body.type !== 'string') return;
    if (env.body.type === MessageType.Reply) {
      const p = env.inReplyTo !== undefined ? this.pending.get(env.inReplyTo) : undefined;
      if (!p) return;
      this.pending.delete(env.inReplyTo!);
      const r = env.body as ReplyMessage;
      if (r.ok) p.resolve(r.result);
      else p.reject(new Error(r.error ?? 'request failed'));
      return;
    }
    for (const h of this.handlers.get(env.body.type) ?? []) h(env.body);
  }
}
