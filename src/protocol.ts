// The host <-> webview contract, imported by both sides (types only, plus the enum, which `const` inlines).
// Every message travels in one envelope: {messageId, inReplyTo?, body}. A request is a typed function: the
// webview calls `request(MessageType.GetView, {...})` and gets the matching reply body back; replies carry
// `inReplyTo`. Host-initiated notifications (Init, Reveal, ...) carry no inReplyTo.
//
// Extension points for the later views: every graph request names the graph (`GraphId`), so the Forward,
// Backward, Optimizer and Whole-step tabs reuse the same messages; `Init.tabs` lists which tabs exist and
// which are enabled; per-node overlays (pruned, unit, latency, memory) will come as `{itemId -> value}` maps
// in their own messages, never by changing the view model's shapes.

import type { GroupDetails, ModelSummary, NodeDetails, SearchMatch, VisibleGraph } from './compiler/view/types';

export type { GroupDetails, ModelSummary, NodeDetails, SearchMatch, TensorInfo, ViewEdge, ViewItem, VisibleGraph } from './compiler/view/types';

export const enum MessageType {
  // webview -> host
  /** The webview's script runs and can receive messages; the host answers with Init or LoadError. */
  Ready = 'ready',
  GetView = 'getView',
  GetDetails = 'getDetails',
  Search = 'search',
  /** Notification: the user selected an item (for the Layers tree and, later, linked views). */
  Selected = 'selected',
  /** Notification: something went wrong in the webview (logged by the host). */
  WebviewError = 'webviewError',

  // host -> webview
  Init = 'init',
  LoadError = 'loadError',
  /** Notification: show this item (expand its ancestors, select it), e.g. from the Layers tree. */
  Reveal = 'reveal',
  /** Notification: a command from the host's UI (view title buttons) for the graph. */
  Command = 'command',
  /** The answer to a request; its envelope's `inReplyTo` names the request. */
  Reply = 'reply',
}

/** Which graph a request is about. Only 'model' exists now; the training graphs arrive with autodiff. */
export type GraphId = 'model' | 'forward' | 'backward' | 'optimizer' | 'step';

/** Tabs of the graph editor. Graph tabs share the graph renderer; the others get their own view module. */
export type TabId = GraphId | 'schedule' | 'memory' | 'backends';

export interface TabInfo {
  id: TabId;
  title: string;
  enabled: boolean;
  /** Why a disabled tab is disabled (shown as its tooltip). */
  reason?: string;
}

// ---- webview -> host ----

export interface ReadyMessage { type: MessageType.Ready }
export interface GetViewRequest { type: MessageType.GetView; graph: GraphId; expanded: string[] }
export interface GetDetailsRequest { type: MessageType.GetDetails; graph: GraphId; id: string }
export interface SearchRequest { type: MessageType.Search; graph: GraphId; query: string; limit?: number }
export interface SelectedMessage { type: MessageType.Selected; graph: GraphId; id: string | null; layer: string | null }
export interface WebviewErrorMessage { type: MessageType.WebviewError; message: string }

export type FromWebviewMessage = ReadyMessage | GetViewRequest | GetDetailsRequest | SearchRequest | SelectedMessage | WebviewErrorMessage;

// ---- host -> webview ----

export interface InitMessage {
  type: MessageType.Init;
  summary: ModelSummary;
  tabs: TabInfo[];
  /** The collapsed view, sent with Init so the first paint needs no round trip. */
  view: VisibleGraph;
}
export interface LoadErrorMessage { type: MessageType.LoadError; fileName: string; message: string }
export interface RevealMessage { type: MessageType.Reveal; graph: GraphId; id: string; path: string[] }
export interface CommandMessage { type: MessageType.Command; command: 'fit' | 'expandAll' | 'collapseAll' | 'focusSearch' }

export type DetailsReply = { node: NodeDetails } | { group: GroupDetails } | null;
export interface SearchReply { matches: SearchMatch[]; total: number }

/** Reply bodies by request type: the single source of what each request returns. */
export interface ReplyTypes {
  [MessageType.GetView]: VisibleGraph;
  [MessageType.GetDetails]: DetailsReply;
  [MessageType.Search]: SearchReply;
}
export type RequestMessage = GetViewRequest | GetDetailsRequest | SearchRequest;
export type RequestType = keyof ReplyTypes;
export type ReplyOf<T extends RequestType> = ReplyTypes[T];

/** A reply: `ok` with the typed result, or the error message the host caught. */
export interface ReplyMessage<T extends RequestType = RequestType> {
  type: MessageType.Reply;
  ok: boolean;
  result?: ReplyOf<T>;
  error?: string;
}

export type ToWebviewMessage = InitMessage | LoadErrorMessage | RevealMessage | CommandMessage | ReplyMessage;

export interface Envelope<B> {
  messageId: number;
  inReplyTo?: number;
  body: B;
}

export function isEnvelope(x: unknown): x is Envelope<{ type: string }> {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Envelope<unknown>;
  return typeof e.messageId === 'number' && typeof e.body === 'object' && e.body !== null && typeof (e.body as { type?: unknown }).type === 'string';
}

/** The tabs of the graph editor for a model, with the later ones shown disabled so the strip's shape is stable. */
export function defaultTabs(): TabInfo[] {
  const later = (id: TabId, title: string, reason: string): TabInfo => ({ id, title, enabled: false, reason });
  return [
    { id: 'model', title: 'Model', enabled: true },
    later('forward', 'Forward', 'Training graphs come with compile-time autodiff'),
    later('backward', 'Backward', 'Training graphs come with compile-time autodiff'),
    later('optimizer', 'Optimizer', 'Training graphs come with compile-time autodiff'),
    later('step', 'Whole step', 'Training graphs come with compile-time autodiff'),
    later('schedule', 'Schedule', 'Comes with the training-step plan'),
    later('memory', 'Memory', 'Comes with the training-step plan'),
    later('backends', 'Backends', 'Comes with the training-step plan'),
  ];
}
