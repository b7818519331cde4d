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
import type { GraphCounts, LinkedItem, PrunedOverlay, TrainingGraphId } from './compiler/view/trainingView';

export type { GraphCounts, LinkedItem, PrunedOverlay, TrainingGraphId } from './compiler/view/trainingView';

export type { GroupDetails, ModelSummary, NodeDetails, SearchMatch, TensorInfo, ViewEdge, ViewItem, VisibleGraph } from './compiler/view/types';
import type { PlanData } from './compiler/view/planView';
export type { PlanData, PlanStepRow, PlanTensorRow, PlanUnit } from './compiler/view/planView';
import type { GraphUnitOverlay } from './compiler/view/planView';
export type { GraphUnitOverlay, UnitLegendRow, UnitShare } from './compiler/view/planView';

export const enum MessageType {
  // webview -> host
  /** The webview's script runs and can receive messages; the host answers with Init or LoadError. */
  Ready = 'ready',
  GetView = 'getView',
  GetDetails = 'getDetails',
  Search = 'search',
  /** Where a layer is drawn in a graph (the box and the groups to open), e.g. to reveal it in another tab. */
  Locate = 'locate',
  /** Notification: the user selected an item (for the Layers tree and, later, linked views). */
  Selected = 'selected',
  /** Notification: something went wrong in the webview (logged by the host). */
  WebviewError = 'webviewError',
  /** Notification: set a layer's update in the scheme (the graph view's layer actions; the Layers tree does the same). */
  SetLayerUpdate = 'setLayerUpdate',
  /** Request: the plan of the step (schedule, memory, backends) for the selected device; compiles on first ask. */
  GetPlan = 'getPlan',
  /** Notification: choose the device profile the plan views follow (the status bar's picker does the same). */
  SetDevice = 'setDevice',
  /** Notification: put an operator or a layer on a unit ('' clears the override); the plan recompiles. */
  SetBackendOverride = 'setBackendOverride',
  /** Request: a training graph's operators and boxes coloured by unit under the current plan (compiles it on first ask). */
  GetUnitOverlay = 'getUnitOverlay',

  // host -> webview
  Init = 'init',
  LoadError = 'loadError',
  /** Notification: show this item (expand its ancestors, select it), e.g. from the Layers tree. */
  Reveal = 'reveal',
  /** Notification: a command from the host's UI (view title buttons) for the graph. */
  Command = 'command',
  /** Notification: the scheme changed and the step was recompiled: new counts and pruned overlays (no reload). */
  TrainingUpdate = 'trainingUpdate',
  /** Notification: the items linked to the selection (forward node <-> its backward nodes), per tab. */
  Linked = 'linked',
  /** Notification: the plan was recompiled (scheme, device or overrides changed), for views that asked for it. */
  PlanUpdate = 'planUpdate',
  /** The answer to a request; its envelope's `inReplyTo` names the request. */
  Reply = 'reply',
}

/** Which graph a request is about: the imported model, or a tab of the training step. */
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
/** `hidePruned`: leave out pruned items (and groups with nothing else in them). */
export interface GetViewRequest { type: MessageType.GetView; graph: GraphId; expanded: string[]; hidePruned?: boolean }
export interface GetDetailsRequest { type: MessageType.GetDetails; graph: GraphId; id: string }
export interface SearchRequest { type: MessageType.Search; graph: GraphId; query: string; limit?: number }
export interface LocateRequest { type: MessageType.Locate; graph: GraphId; layer: string }
export interface SelectedMessage { type: MessageType.Selected; graph: GraphId; id: string | null; layer: string | null }
export interface WebviewErrorMessage { type: MessageType.WebviewError; message: string }

/** How a layer trains: the scheme format's `update`. */
export type LayerUpdateSpec = 'full' | 'bias' | 'frozen' | { channels: number };
export interface SetLayerUpdateMessage { type: MessageType.SetLayerUpdate; layer: string; update: LayerUpdateSpec }

export interface GetPlanRequest { type: MessageType.GetPlan }
export interface SetDeviceMessage { type: MessageType.SetDevice; device: string }
/** The graph view asks again after every PlanUpdate (device, overrides or scheme changed). */
export interface GetUnitOverlayRequest { type: MessageType.GetUnitOverlay; graph: TrainingGraphId }
export interface SetBackendOverrideMessage { type: MessageType.SetBackendOverride; kind: 'op' | 'layer'; target: string; unit: string }

export type FromWebviewMessage = GetUnitOverlayRequest | GetPlanRequest | SetDeviceMessage | SetBackendOverrideMessage | ReadyMessage | GetViewRequest | GetDetailsRequest | SearchRequest | LocateRequest | SelectedMessage | WebviewErrorMessage | SetLayerUpdateMessage | ExportRequestedMessage;

// ---- host -> webview ----

export interface InitMessage {
  type: MessageType.Init;
  summary: ModelSummary;
  tabs: TabInfo[];
  /** The collapsed view, sent with Init so the first paint needs no round trip. */
  view: VisibleGraph;
  /** The training step's counts and overlays, when the step compiled. */
  training?: TrainingInfo;
}

/** What the training tabs show beside the graphs; sent with Init and after every recompile. */
export interface TrainingInfo {
  /** Increases with every recompile. */
  version: number;
  /** Where the scheme comes from ("model.pockengine.json", or "full (default)"). */
  schemeSource: string;
  /** The scheme file does not parse: the last valid scheme stays in effect. */
  schemeError: string | null;
  counts: Record<TrainingGraphId, GraphCounts>;
  /** Pruned leaf item ids (`n:<node>`, the same in every tab, so sent once); their reasons come with the details. */
  prunedItems: string[];
  /** Per tab: group item id -> fraction of its operators pruned. */
  prunedGroups: Record<TrainingGraphId, Record<string, number>>;
  /** Tabs whose set of nodes changed: the webview asks for their view again (keeping zoom and selection). */
  changed: TrainingGraphId[];
  trainableParams: number;
  totalParams: number;
  /** Host time of the recompile (applyScheme + overlays), ms. */
  compileMs: number;
}
export interface TrainingUpdateMessage extends TrainingInfo { type: MessageType.TrainingUpdate }
/** `selected`: the item the user selected in `source` (the plan views select its step). */
export interface LinkedMessage { type: MessageType.Linked; source: GraphId; items: Partial<Record<GraphId, LinkedItem[]>>; selected?: string | null }
export interface LoadErrorMessage { type: MessageType.LoadError; fileName: string; message: string }
/** `layer`: the layer shown, so a tab of another graph can locate it in its own graph. */
export interface RevealMessage { type: MessageType.Reveal; graph: GraphId; id: string; path: string[]; layer?: string }
export interface CommandMessage { type: MessageType.Command; command: 'fit' | 'expandAll' | 'collapseAll' | 'focusSearch' }

/** For a training tab's node: its phase and, when pruned, why. */
export interface NodeTrainingInfo { phase: string; pruned: string | null; forwardOf: string | null; backwardNodes: number }
/** For a layer: its update under the current scheme and how many of its parameters train. */
export interface LayerSchemeInfo { layer: string; update: string; trainableParams: number; params: number }
export type DetailsReply = { node: NodeDetails; training?: NodeTrainingInfo } | { group: GroupDetails; scheme?: LayerSchemeInfo } | null;
export interface SearchReply { matches: SearchMatch[]; total: number }

/** Reply bodies by request type: the single source of what each request returns. */
export interface ReplyTypes {
  [MessageType.GetView]: VisibleGraph;
  [MessageType.GetDetails]: DetailsReply;
  [MessageType.Search]: SearchReply;
  [MessageType.Locate]: { id: string; path: string[] } | null;
  [MessageType.GetPlan]: PlanReply;
  [MessageType.GetUnitOverlay]: UnitOverlayReply;
}
export type RequestMessage = GetViewRequest | GetDetailsRequest | SearchRequest | LocateRequest | GetPlanRequest | GetUnitOverlayRequest;
export type RequestType = keyof ReplyTypes;
export type ReplyOf<T extends RequestType> = ReplyTypes[T];

/** A reply: `ok` with the typed result, or the error message the host caught. */
export interface ReplyMessage<T extends RequestType = RequestType> {
  type: MessageType.Reply;
  ok: boolean;
  result?: ReplyOf<T>;
  error?: string;
}

/** The plan, or why there is none (the step or the plan did not compile). */
export type PlanReply = { plan: PlanData } | { error: string };
/** A graph's unit overlay, or why there is none (the plan did not compile). */
export type UnitOverlayReply = { overlay: GraphUnitOverlay } | { error: string };
export type PlanUpdateMessage = { type: MessageType.PlanUpdate } & PlanReply;

export type ToWebviewMessage = PlanUpdateMessage | InitMessage | LoadErrorMessage | RevealMessage | CommandMessage | ReplyMessage | TrainingUpdateMessage | LinkedMessage;

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

/**
 * The tabs of the graph editor for a model, with the later ones shown disabled so the strip's shape is
 * stable. `trainingError`: why the training tabs are off (the step did not compile); undefined: they are on.
 */
export function defaultTabs(trainingError: string | null = null): TabInfo[] {
  const later = (id: TabId, title: string, reason: string): TabInfo => ({ id, title, enabled: false, reason });
  const training = (id: TabId, title: string): TabInfo => (trainingError === null ? { id, title, enabled: true } : later(id, title, trainingError));
  return [
    { id: 'model', title: 'Model', enabled: true },
    training('forward', 'Forward'),
    training('backward', 'Backward'),
    training('optimizer', 'Optimizer'),
    training('step', 'Whole step'),
    training('schedule', 'Schedule'),
    training('memory', 'Memory'),
    training('backends', 'Backends'),
  ];
}

// ==== Run and Fit panels (deploy-and-run, fit-to-budget) ====================================================
// Their own webviews (webview/run.main.ts, webview/fit.main.ts), with the same envelope as the graph view
// but their own message types, so neither contract can break the other. Host -> webview messages are
// notifications; the webview's requests are notifications the host acts on (no replies needed).

/** The graph view's toolbar asks the host to export the model (the same as the Export for device… command). */
export const EXPORT_REQUESTED = 'exportRequested' as const;
export interface ExportRequestedMessage { type: typeof EXPORT_REQUESTED }

export const enum RunMessageType {
  // webview -> host
  Ready = 'run.ready',
  Stop = 'run.stop',
  Pull = 'run.pull',
  // host -> webview
  Init = 'run.init',
  Step = 'run.step',
  Status = 'run.status',
}

/** One JSON line of `train`: the step, its forward loss and (when the binary times it) its milliseconds. */
export interface RunStepPoint { step: number; loss: number; ms?: number }
export type RunState = 'deploying' | 'running' | 'stopping' | 'stopped' | 'finished' | 'failed';

export interface RunInitMessage { type: RunMessageType.Init; target: string; exportDir: string; steps: number; state: RunState; points: RunStepPoint[] }
/** New steps since the last message, in order (the host batches them: a fast binary prints thousands a second). */
export interface RunStepMessage { type: RunMessageType.Step; points: RunStepPoint[] }
/** `canPull`: the run saved its parameters, so Pull parameters is offered. */
export interface RunStatusMessage { type: RunMessageType.Status; state: RunState; message: string; canPull: boolean }
export type RunToWebviewMessage = RunInitMessage | RunStepMessage | RunStatusMessage;

export interface RunReadyMessage { type: RunMessageType.Ready }
export interface RunStopMessage { type: RunMessageType.Stop }
export interface RunPullMessage { type: RunMessageType.Pull }
export type RunFromWebviewMessage = RunReadyMessage | RunStopMessage | RunPullMessage;

export const enum FitMessageType {
  // webview -> host
  Ready = 'fit.ready',
  Apply = 'fit.apply',
  // host -> webview
  Init = 'fit.init',
  Applied = 'fit.applied',
}

/** One point of the budget-versus-contribution curve (the compiler's FitPoint, with its choices summarised). */
export interface FitCurvePoint {
  budgetBytes: number;
  peakBytes: number;
  contribution: number;
  /** The scheme document this point writes (the stable scheme format). */
  scheme: unknown;
  /** Chosen layers with their option ("features.16.conv.2: channels-1/4"). */
  choices: { unit: string; option: string; score: number }[];
}

export interface FitInitMessage {
  type: FitMessageType.Init;
  model: string;
  profile: string;
  budgetBytes: number;
  frozenPeakBytes: number;
  fullPeakBytes: number;
  method: string;
  fromCache: boolean;
  /** Tightest budget first. */
  points: FitCurvePoint[];
  /** Index of the point at the requested budget (preselected). */
  chosen: number;
  /** The analysis per update unit: its best option and that option's score, highest first. */
  layers: { unit: string; option: string; score: number }[];
}
export interface FitAppliedMessage { type: FitMessageType.Applied; ok: boolean; message: string }
export type FitToWebviewMessage = FitInitMessage | FitAppliedMessage;

export interface FitReadyMessage { type: FitMessageType.Ready }
/** Apply the point `index`; `scheme` is the scheme the webview showed (the host writes its own copy of that point's). */
export interface FitApplyMessage { type: FitMessageType.Apply; index: number; scheme: unknown }
export type FitFromWebviewMessage = FitReadyMessage | FitApplyMessage;
