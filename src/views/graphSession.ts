// The host side of one graph webview, free of `vscode` so the browser test drives the very same code: it
// loads the model (errors become a LoadError message, never a crash), sends the collapsed view with Init,
// and answers the webview's typed requests from the compiler's view model.

import * as path from 'node:path';
import { loadModel, type LoadedModel } from '../compiler/loadModel';
import { createGraphViewModel, type GraphViewModel } from '../compiler/view';
import {
  MessageType, defaultTabs, isEnvelope, type Envelope, type FromWebviewMessage, type ReplyMessage, type RequestMessage,
  type ToWebviewMessage,
} from '../protocol';

export type ModelSource = { loaded: LoadedModel } | { error: string };

/** Loads a model for a view; a bad file becomes an error the webview shows. */
export function loadForView(file: string): ModelSource {
  try {
    return { loaded: loadModel(file) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

export interface SessionEvents {
  /** The user selected an item in the webview (layer '' is the model root). */
  onSelected?(id: string | null, layer: string | null): void;
  onWebviewError?(message: string): void;
}

export class GraphSession {
  private nextId = 1;
  readonly viewModel: GraphViewModel | null;
  private readonly error: string | null;

  constructor(
    private readonly fileName: string,
    source: ModelSource,
    private readonly post: (msg: Envelope<ToWebviewMessage>) => void,
    private readonly events: SessionEvents = {},
  ) {
    if ('loaded' in source) {
      let vm: GraphViewModel | null = null;
      let err: string | null = null;
      try {
        vm = createGraphViewModel(source.loaded);
      } catch (e) {
        err = `could not build the graph view of ${path.basename(fileName)}: ${(e as Error).message}`;
      }
      this.viewModel = vm;
      this.error = err;
    } else {
      this.viewModel = null;
      this.error = source.error;
    }
  }

  /** Sends a host-initiated message (Reveal, Command). */
  send(body: ToWebviewMessage): void {
    this.post({ messageId: this.nextId++, body });
  }

  /** Handles one message from the webview; anything that is not a well-formed envelope is ignored. */
  receive(raw: unknown): void {
    if (!isEnvelope(raw)) return;
    const env = raw as Envelope<FromWebviewMessage>;
    const msg = env.body;
    switch (msg.type) {
      case MessageType.Ready:
        if (!this.viewModel) this.send({ type: MessageType.LoadError, fileName: path.basename(this.fileName), message: this.error ?? 'unknown error' });
        else this.send({ type: MessageType.Init, summary: this.viewModel.summary(), tabs: defaultTabs(), view: this.viewModel.visible([]) });
        return;
      case MessageType.GetView:
      case MessageType.GetDetails:
      case MessageType.Search:
        this.reply(env.messageId, msg);
        return;
      case MessageType.Selected:
        this.events.onSelected?.(msg.id, msg.layer);
        return;
      case MessageType.WebviewError:
        this.events.onWebviewError?.(String(msg.message));
        return;
    }
  }

  private reply(inReplyTo: number, req: RequestMessage): void {
    let body: ReplyMessage;
    try {
      body = { type: MessageType.Reply, ok: true, result: this.answer(req) };
    } catch (e) {
      body = { type: MessageType.Reply, ok: false, error: (e as Error).message };
    }
    this.post({ messageId: this.nextId++, inReplyTo, body });
  }

  private answer(req: RequestMessage): ReplyMessage['result'] {
    const vm = this.viewModel;
    if (!vm) throw new Error(this.error ?? 'the model did not load');
    if (req.graph !== 'model') throw new Error(`the ${req.graph} graph is not available yet`);
    switch (req.type) {
      case MessageType.GetView: return vm.visible(Array.isArray(req.expanded) ? req.expanded.map(String) : []);
      case MessageType.GetDetails: return vm.details(String(req.id));
      case MessageType.Search: return vm.search(String(req.query), typeof req.limit === 'number' ? req.limit : undefined);
    }
  }
}
