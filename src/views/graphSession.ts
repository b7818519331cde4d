// The host side of one graph webview, free of `vscode` so the browser test drives the very same code: it
// loads the model (errors become a LoadError message, never a crash), sends the collapsed view with Init,
// and answers the webview's typed requests from the compiler's view model.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel, type LoadedModel } from '../compiler/loadModel';
import { createGraphViewModel, type GraphViewModel, type VisibleGraph } from '../compiler/view';
import { linkedItems, type PrunedOverlay, type TrainingGraphId } from '../compiler/view/trainingView';
import {
  MessageType, EXPORT_REQUESTED, defaultTabs, isEnvelope, type Envelope, type FromWebviewMessage, type GraphId, type LayerUpdateSpec,
  type ReplyMessage, type RequestMessage, type ToWebviewMessage,
} from '../protocol';
import { TrainingState } from './trainingState';
import { schemePathFor } from './schemeDocument';
import { planSettings, withOverride } from './planSettings';
import { isProfileName } from '../compiler/backends/profiles';
import type { PlanData, PlanReply, UnitOverlayReply } from '../protocol';
import { graphUnitOverlay } from '../compiler/view/planView';

export type ModelSource = { loaded: LoadedModel } | { error: string };

/** Loads a model for a view; a bad file becomes an error the webview shows. */
export function loadForView(file: string): ModelSource {
  try {
    return { loaded: loadModel(file) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The training step of a model, with its scheme file's text read from disk (VS Code's host passes the open
 * document's text instead). A step that does not compile becomes an error the training tabs show.
 */
export function openTraining(loaded: LoadedModel, modelPath: string, schemeText?: string | null): TrainingState | { error: string } {
  const schemeFile = schemePathFor(modelPath);
  let text = schemeText;
  if (text === undefined) text = fs.existsSync(schemeFile) ? fs.readFileSync(schemeFile, 'utf8') : null;
  try {
    return new TrainingState(loaded, text === null ? 'full (default: no scheme file)' : path.basename(schemeFile), text);
  } catch (e) {
    return { error: `the training step of ${path.basename(modelPath)} does not compile: ${(e as Error).message}` };
  }
}

/** Leaves out pruned items, groups with nothing else in them, what they contain, and their edges. */
export function hidePruned(view: VisibleGraph, overlay: PrunedOverlay): VisibleGraph {
  const gone = new Set<string>();
  const pruned = new Set(overlay.items);
  const items = view.items.filter((it) => {
    const drop = (it.parent !== null && gone.has(it.parent)) || pruned.has(it.id) || overlay.groups[it.id] === 1;
    if (drop) gone.add(it.id);
    return !drop;
  });
  return { items, edges: view.edges.filter((e) => !gone.has(e.source) && !gone.has(e.target)), expanded: view.expanded.filter((e) => !gone.has(e)) };
}

const isTrainingGraph = (g: GraphId): g is TrainingGraphId => g === 'forward' || g === 'backward' || g === 'optimizer' || g === 'step';

export interface SessionEvents {
  /** The user selected an item in the webview (layer '' is the model root). */
  onSelected?(id: string | null, layer: string | null): void;
  onWebviewError?(message: string): void;
  /** The webview asks to set a layer's update (the host edits the scheme document, which recompiles). */
  onSetLayerUpdate?(layer: string, update: LayerUpdateSpec): void;
  /** The toolbar's Export… button (the host runs Export for device…). */
  onExport?(): void;
}

export class GraphSession {
  private nextId = 1;
  readonly viewModel: GraphViewModel | null;
  private readonly error: string | null;
  /** The training step (shared by the model's panels), or why there is none. */
  readonly training: TrainingState | null = null;
  private readonly trainingError: string | null = null;
  private readonly unsubscribe: () => void = () => undefined;
  private readonly unsubscribePlan: () => void = () => undefined;
  /** The webview asked for the plan: it follows every recompile from then on. */
  private planWanted = false;
  private sentPlan = 0;
  private comparisonTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  /** `training`: the model's shared training state; omitted, the session opens its own from disk. */
  constructor(
    private readonly fileName: string,
    source: ModelSource,
    private readonly post: (msg: Envelope<ToWebviewMessage>) => void,
    private readonly events: SessionEvents = {},
    training?: TrainingState | { error: string },
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
      const t = training ?? openTraining(source.loaded, fileName);
      if (t instanceof TrainingState) {
        this.training = t;
        this.unsubscribe = t.onDidChange((info) => {
          this.send({ type: MessageType.TrainingUpdate, ...info });
          // The graph tabs' update leaves first; the plan (a second compile) follows.
          setTimeout(() => this.sendPlan(), 0);
        });
        this.unsubscribePlan = planSettings.onDidChange((c) => {
          if (c.device !== undefined || c.modelPath === t.loaded.model.path) this.sendPlan();
        });
      } else this.trainingError = t.error;
    } else {
      this.viewModel = null;
      this.error = source.error;
    }
  }

  dispose(): void {
    this.unsubscribe();
    this.unsubscribePlan();
    this.disposed = true;
    if (this.comparisonTimer) clearTimeout(this.comparisonTimer);
  }

  /** The plan under the current scheme, device and overrides, or why there is none. */
  planReply(compare = false): PlanReply {
    if (!this.training) return { error: this.trainingError ?? 'the training step is not available' };
    try {
      const data = this.training.plan(compare).data;
      this.sentPlan = data.planVersion;
      if (!compare && !this.training.planIsCurrent(true)) this.scheduleComparisons();
      return { plan: data };
    } catch (e) {
      return { error: `the plan of the training step did not compile: ${(e as Error).message}` };
    }
  }

  /** A training graph's operators and boxes by unit, under the plan the plan views show. */
  unitOverlayReply(graph: GraphId): UnitOverlayReply {
    if (!isTrainingGraph(graph)) return { error: `the ${String(graph)} graph has no unit overlay (only the training step's graphs run on a device)` };
    if (!this.training) return { error: this.trainingError ?? 'the training step is not available' };
    // The plan alone (not planReply): colouring a graph needs no comparison plans.
    let plan: PlanData;
    try {
      plan = this.training.plan().data;
    } catch (e) {
      return { error: `the plan of the training step did not compile: ${(e as Error).message}` };
    }
    return { overlay: graphUnitOverlay(plan, this.training.views.models[graph].index, graph) };
  }

  /** Sends the recompiled plan to a webview that has shown a plan view (the others compile it when asked). */
  private sendPlan(compare = false): void {
    if (!this.planWanted || !this.training || this.disposed) return;
    // A model's panels share its plan: whichever asks first compiles it, each sends it once.
    if (this.training.planIsCurrent(compare) && this.training.plan(compare).data.planVersion === this.sentPlan) return;
    this.send({ type: MessageType.PlanUpdate, ...this.planReply(compare) });
  }

  /** The comparison plans (no reordering, full update) come after the first paint of the plan. */
  private scheduleComparisons(): void {
    if (this.comparisonTimer) return;
    this.comparisonTimer = setTimeout(() => {
      this.comparisonTimer = undefined;
      this.sendPlan(true);
    }, 1500); // once the first plan has left the host (~1 s to post a 7B-shaped plan; its comparisons take seconds)
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
        else {
          this.send({
            type: MessageType.Init, summary: this.viewModel.summary(), tabs: defaultTabs(this.training ? null : this.trainingError ?? 'no training step'),
            view: this.viewModel.visible([]), ...(this.training?.isCompiled ? { training: this.training.info() } : {}),
          });
        }
        return;
      case MessageType.GetView:
      case MessageType.GetDetails:
      case MessageType.Search:
      case MessageType.Locate:
        this.reply(env.messageId, msg);
        return;
      case MessageType.Selected:
        this.events.onSelected?.(msg.id, msg.layer);
        this.sendLinked(msg.graph, msg.id);
        return;
      case MessageType.SetDevice:
        if (typeof msg.device === 'string' && isProfileName(msg.device)) planSettings.setDevice(msg.device);
        return;
      case MessageType.SetBackendOverride:
        if (this.training && (msg.kind === 'op' || msg.kind === 'layer') && typeof msg.target === 'string' && typeof msg.unit === 'string') {
          const model = this.training.loaded.model.path;
          planSettings.setOverrides(model, withOverride(planSettings.overrides(model), msg.kind, msg.target, msg.unit));
        }
        return;
      case MessageType.GetPlan:
      case MessageType.GetUnitOverlay:
        // Either one follows every recompile from then on (the graph view asks for its overlay again).
        this.planWanted = true;
        this.reply(env.messageId, msg);
        return;
      case MessageType.SetLayerUpdate:
        if (typeof msg.layer === 'string') this.events.onSetLayerUpdate?.(msg.layer, msg.update);
        return;
      case MessageType.WebviewError:
        this.events.onWebviewError?.(String(msg.message));
        return;
      case EXPORT_REQUESTED:
        this.events.onExport?.();
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

  /** The view model answering for a graph. */
  private modelFor(graph: GraphId): GraphViewModel {
    if (!this.viewModel) throw new Error(this.error ?? 'the model did not load');
    if (graph === 'model') return this.viewModel;
    if (!isTrainingGraph(graph)) throw new Error(`unknown graph "${String(graph)}"`);
    if (!this.training) throw new Error(this.trainingError ?? 'the training step is not available');
    return this.training.views.models[graph];
  }

  private answer(req: RequestMessage): ReplyMessage['result'] {
    if (req.type === MessageType.GetPlan) return this.planReply();
    if (req.type === MessageType.GetUnitOverlay) return this.unitOverlayReply(req.graph);
    const vm = this.modelFor(req.graph);
    const t = this.training;
    switch (req.type) {
      case MessageType.GetView: {
        const view = vm.visible(Array.isArray(req.expanded) ? req.expanded.map(String) : []);
        return req.hidePruned && t && isTrainingGraph(req.graph) ? hidePruned(view, t.views.pruned[req.graph]) : view;
      }
      case MessageType.GetDetails: {
        const d = vm.details(String(req.id));
        if (!d || !t) return d;
        if ('group' in d) return { ...d, scheme: t.layerInfo(d.group.layer) };
        if (!isTrainingGraph(req.graph) || d.node.kind !== 'op') return d;
        const nodeId = String(req.id).slice(2);
        const fwd = t.st.full.ann.forwardOf.get(nodeId) ?? null;
        return {
          ...d,
          training: {
            phase: t.views.phaseOf(nodeId) ?? 'forward', pruned: t.views.prunedReason(nodeId), forwardOf: fwd,
            backwardNodes: (t.st.full.ann.backwardOf.get(nodeId) ?? []).length,
          },
        };
      }
      case MessageType.Search: return vm.search(String(req.query), typeof req.limit === 'number' ? req.limit : undefined);
      case MessageType.Locate: return vm.locateLayer(String(req.layer));
    }
  }

  /** Tells the webview what the selection links to in every tab (forward node <-> its backward nodes). */
  private sendLinked(graph: GraphId, id: string | null): void {
    // A selection must not compile the training step on the extension host (seconds for a 7B-shaped
    // model): links appear once the step is compiled, which a training tab or the editor's idle compile does.
    if (!this.training || !this.training.isCompiled) return;
    const items = id ? linkedItems(this.training.views, this.training.st, this.viewModel?.index ?? null, id) : {};
    this.send({ type: MessageType.Linked, source: graph, items, selected: id });
  }
}
