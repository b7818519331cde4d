// The training step of one open model under its current scheme: applyScheme's result, the training tabs'
// view models and the numbers the status bar shows. Shared by every panel of the model; a scheme change
// recompiles once and tells every listener what changed. Free of `vscode`: the browser test runs it.
//
// An invalid scheme text keeps the last valid scheme in effect and reports the error.

import type { LoadedModel } from '../compiler/loadModel';
import { applyScheme, type SparseTraining } from '../compiler/sparse/applyScheme';
import { parseSchemeText, updateFor, type LayerUpdate, type Scheme } from '../compiler/sparse/scheme';
import { paramsUnder } from '../compiler/ir/layers';
import { numElements } from '../compiler/ir/shape';
import { buildTrainingViews, TRAINING_GRAPHS, type TrainingGraphId, type TrainingViews } from '../compiler/view/trainingView';
import type { OptimizerSpec } from '../compiler/train/optimizer';
import type { TrainingInfo, LayerSchemeInfo } from '../protocol';
import { DEFAULT_SCHEME, describeUpdate } from './schemeDocument';
import { compile, type CompileResult } from '../compiler/compile';
import { allProfiles, getProfile } from '../compiler/backends/profiles';
import { planViewData, type PlanData } from '../compiler/view/planView';
import { planSettings } from './planSettings';

/** The learning rule the views show (the compile default; the scheme file does not carry one). */
export const VIEW_OPTIMIZER: OptimizerSpec = { kind: 'sgd', lr: 0.01 };

export type TrainingListener = (info: TrainingInfo) => void;

export class TrainingState {
  scheme: Scheme;
  private compiled: { st: SparseTraining; views: TrainingViews } | null = null;
  version = 0;
  schemeError: string | null = null;
  compileMs = 0;
  private changed: TrainingGraphId[] = [];
  private readonly listeners = new Set<TrainingListener>();

  /**
   * `schemeText` null: no scheme file (the default `full` scheme). The step compiles on first use (a tab,
   * the Layers tree), so opening a model paints its graph first; `compile()` throws if it cannot.
   */
  constructor(readonly loaded: LoadedModel, private schemeSource: string, schemeText: string | null) {
    let scheme = DEFAULT_SCHEME;
    if (schemeText !== null) {
      try {
        scheme = parseSchemeText(schemeText);
      } catch (e) {
        this.schemeError = (e as Error).message;
      }
    }
    this.scheme = scheme;
  }

  get isCompiled(): boolean {
    return this.compiled !== null;
  }

  /** Compiles the step under the current scheme if it has not been yet; tells listeners (first counts). */
  compile(): { st: SparseTraining; views: TrainingViews } {
    if (this.compiled) return this.compiled;
    const t0 = performance.now();
    const st = applyScheme(this.loaded, this.scheme, { optimizer: VIEW_OPTIMIZER });
    this.compiled = { st, views: buildTrainingViews(this.loaded, st) };
    this.compileMs = performance.now() - t0;
    this.emit([]);
    return this.compiled;
  }

  get st(): SparseTraining {
    return this.compile().st;
  }

  get views(): TrainingViews {
    return this.compile().views;
  }

  onDidChange(l: TrainingListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** New scheme text (from the document, or null when the file is gone). Returns the info sent to listeners. */
  setSchemeText(text: string | null, source = this.schemeSource): TrainingInfo {
    this.schemeSource = source;
    if (text === null) return this.setScheme(DEFAULT_SCHEME);
    let scheme: Scheme;
    try {
      scheme = parseSchemeText(text);
    } catch (e) {
      this.schemeError = (e as Error).message;
      return this.emit([]);
    }
    return this.setScheme(scheme);
  }

  setScheme(scheme: Scheme): TrainingInfo {
    const t0 = performance.now();
    this.schemeError = null;
    this.scheme = scheme;
    const st = applyScheme(this.loaded, scheme, { optimizer: VIEW_OPTIMIZER });
    const before = this.compiled?.views;
    const views = buildTrainingViews(this.loaded, st, before);
    this.compiled = { st, views };
    const changed = before ? TRAINING_GRAPHS.filter((g) => before.structureKey[g] !== views.structureKey[g]) : [];
    this.compileMs = performance.now() - t0;
    this.version++;
    return this.emit(changed);
  }

  private emit(changed: TrainingGraphId[]): TrainingInfo {
    this.changed = changed;
    const info = this.info();
    for (const l of this.listeners) l(info);
    return info;
  }

  info(): TrainingInfo {
    const { trainable, total } = this.paramCounts();
    return {
      version: this.version, schemeSource: this.schemeSource, schemeError: this.schemeError,
      counts: this.views.counts, prunedItems: [...this.st.pruned.keys()].map((id) => `n:${id}`),
      prunedGroups: Object.fromEntries(TRAINING_GRAPHS.map((g) => [g, this.views.pruned[g].groups])) as TrainingInfo['prunedGroups'],
      changed: this.changed,
      trainableParams: trainable, totalParams: total, compileMs: Math.round(this.compileMs),
    };
  }

  /** Parameter elements that train (a `channels: r` weight counts its updated rows), and all of them. */
  paramCounts(layer = ''): { trainable: number; total: number } {
    const g = this.loaded.model.graph;
    let trainable = 0;
    let total = 0;
    const names = layer === '' ? [...this.st.updates.keys()] : paramsUnder(this.loaded.layers, layer).filter((p) => this.st.updates.has(p));
    for (const p of names) {
      const n = numElements(g.initializers.get(p)?.dims ?? []) ?? 0;
      total += n;
      const u = this.st.updates.get(p)!;
      if (u.trainable) trainable += u.channels !== undefined ? Math.round(n * u.channels) : n;
    }
    return { trainable, total };
  }

  /** The update a layer gets under the current scheme (its rule, an ancestor's, or the default). */
  layerUpdate(layer: string): LayerUpdate {
    return updateFor(this.scheme, layer, layer);
  }

  /** Whether anything in the layer trains (the Layers tree's checkbox). */
  layerTrains(layer: string): boolean {
    for (const p of paramsUnder(this.loaded.layers, layer)) if (this.st.updates.get(p)?.trainable) return true;
    return false;
  }

  layerInfo(layer: string): LayerSchemeInfo {
    const { trainable, total } = this.paramCounts(layer);
    return { layer, update: describeUpdate(this.layerUpdate(layer)), trainableParams: trainable, params: total };
  }

  private planCache: { key: string; data: PlanData; result: CompileResult; compared: boolean } | null = null;
  private planCount = 0;

  /**
   * The plan of the step (schedule, memory, backends) under the current scheme, the selected device and the
   * model's backend overrides; compiled on first use and again only when one of the three changed.
   * `compare`: also plan the step without reordering and with a full update (the memory view's outlines),
   * which on a 7B-shaped model takes several times the plan itself; the views ask for it after a first paint.
   */
  plan(compare = false): { data: PlanData; result: CompileResult; compared: boolean } {
    const device = planSettings.device;
    const overrides = planSettings.overrides(this.loaded.model.path);
    const key = JSON.stringify([this.version, this.scheme, device, overrides]);
    if (this.planCache?.key === key && (this.planCache.compared || !compare)) return this.planCache;
    const t0 = performance.now();
    const profile = getProfile(device);
    const result = compile(this.loaded, { scheme: this.scheme, target: profile, optimizer: VIEW_OPTIMIZER, backendOverrides: overrides, compare: compare ? 'peaks' : 'none' });
    const data = planViewData(result, {
      version: this.version, planVersion: ++this.planCount,
      devices: allProfiles().map((p) => ({ name: p.name, displayName: p.displayName })),
      profileUnits: profile.units.map((u) => ({ id: u.id, displayName: u.displayName })),
      overrides, compileMs: Math.round(performance.now() - t0),
    });
    this.planCache = { key, data, result, compared: compare };
    return this.planCache;
  }

  /** Whether `plan(compare)` would not compile (nothing changed since the last plan). */
  planIsCurrent(compare = false): boolean {
    const c = this.planCache;
    return c?.key === JSON.stringify([this.version, this.scheme, planSettings.device, planSettings.overrides(this.loaded.model.path)]) && (c.compared || !compare);
  }
}
