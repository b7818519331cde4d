// One graph tab: toolbar (fit, zoom, open/close layer, search), the canvas and the details panel. It keeps
// the set of open groups, asks the host for the visible graph of that set, lays it out (cancellable, with
// progress) and draws it. The same class will show the Forward/Backward/Optimizer/Whole-step graphs: it is
// parameterised by the GraphId it requests.
//
// For tests from outside (browser test, code-server e2e): #graph carries data-state ("loading", "layout",
// "ready", "error") and data-node-count / data-edge-count after each render.
//
// Training graphs can be coloured by the unit that runs each operator (units.ts): always in the Backends
// tab's graph, behind the toolbar's "Units" toggle in the others. The colours follow every recompile of the
// plan (device picker, overrides, scheme) as a restyle: the layout stays.

import {
  MessageType, EXPORT_REQUESTED, type GraphId, type InitMessage, type LinkedItem, type ModelSummary, type SearchMatch, type TrainingGraphId,
  type TrainingInfo, type ViewItem, type VisibleGraph,
} from '../../src/protocol';
import type { Host } from '../host';
import type { TabView } from '../tabView';
import { h } from '../ui/dom';
import { button, dropdown, progressRing, setDisabled, textField, type Dropdown } from '../ui/toolkit';
import { DetailsPanel } from './details';
import { formatCount } from '../ui/dom';
import { LayoutCancelled, LayoutEngine } from './layout';
import { GraphRenderer } from './renderer';
import { onThemeChange, readPalette, type Palette } from './theme';
import { UnitOverlayView } from './units';

interface SavedState {
  expanded: string[];
  selected: string | null;
  hidePruned?: boolean;
  units?: boolean;
}

export interface GraphViewOptions {
  /** Names this view's element ids and saved state (default: the graph id); two views of one graph need two keys. */
  key?: string;
  /** Colour operators by unit: 'always' (the Backends tab) or 'toggle' (a toolbar button: the training graphs' default). */
  units?: 'always' | 'toggle';
}

const GRAPH_TITLES: Record<GraphId, string> = { model: 'Model', forward: 'Forward', backward: 'Backward', optimizer: 'Optimizer', step: 'Whole step' };

/** Show the progress bar only for layouts that take longer than this (no flicker on cached expansions). */
const PROGRESS_DELAY_MS = 120;

export class GraphView implements TabView {
  readonly el: HTMLElement;
  private readonly graphEl: HTMLElement;
  private readonly renderer: GraphRenderer;
  private readonly engine: LayoutEngine;
  private readonly details: DetailsPanel;
  private readonly progressEl: HTMLElement;
  private readonly progressText: HTMLElement;
  private readonly searchStatus: HTMLElement;
  private readonly results: Dropdown;
  private readonly openBtn: HTMLElement;
  private readonly closeBtn: HTMLElement;
  private view: VisibleGraph | null = null;
  private expanded: string[] = [];
  private selected: string | null = null;
  private generation = 0;
  private cancelled = false;
  private matches: SearchMatch[] = [];
  private summary: ModelSummary | null = null;
  private training: TrainingInfo | null = null;
  private linked: LinkedItem[] = [];
  private hidePrunedOn = false;
  private readonly countsEl: HTMLElement;
  private readonly hideBtn: HTMLElement | null = null;
  private readonly key: string;
  private palette: Palette = readPalette();
  private readonly units: UnitOverlayView | null = null;
  private unitsOn = false;
  private readonly unitsBtn: HTMLElement | null = null;
  private itemById = new Map<string, ViewItem>();

  constructor(private readonly host: Host, private readonly graph: GraphId, opts: GraphViewOptions = {}) {
    this.key = opts.key ?? graph;
    // The Model tab keeps the plain ids (#graph, #details, ...); other views suffix theirs (#graph-backward).
    const id = (base: string): string => (this.key === 'model' ? base : `${base}-${this.key}`);
    this.graphEl = h('div', { class: 'graph-canvas', attrs: { id: id('graph'), 'data-graph': graph, 'data-state': 'loading', 'data-node-count': '0', role: 'img', 'aria-label': `${GRAPH_TITLES[graph]} graph` } });
    const detailsEl = h('aside', { class: 'details', attrs: { id: id('details'), 'aria-live': 'polite' } });
    this.details = new DetailsPanel(detailsEl, {
      expand: (i) => this.expand(i), collapse: (i) => this.collapse(i), isOpen: (i) => this.expanded.includes(i),
      setLayerUpdate: (layer, update) => this.host.notify({ type: MessageType.SetLayerUpdate, layer, update }),
    });
    this.countsEl = h('span', { class: 'graph-counts', attrs: { id: id('graph-counts') } });
    // The forward graph is never pruned: only the tabs that can be offer to hide pruned nodes.
    if (graph !== 'model' && graph !== 'forward') {
      this.hideBtn = button('Hide pruned', {
        title: 'Hide the backward and optimizer nodes the scheme prunes (greyed when shown)', id: id('btn-hide-pruned'),
        onClick: () => void this.setHidePruned(!this.hidePrunedOn),
      });
    }

    // Training graphs run on a device: they offer the colouring (the Backends tab's graph always shows it).
    const unitsMode = graph === 'model' ? undefined : opts.units ?? 'toggle';
    if (unitsMode) {
      this.units = new UnitOverlayView(host, graph as TrainingGraphId, this.graphEl, id('unit-legend'));
      this.unitsOn = unitsMode === 'always';
      if (unitsMode === 'toggle') {
        this.unitsBtn = button('Units', {
          title: 'Colour the operators by the unit (CPU, GPU, ...) that runs them on the selected device', id: id('btn-units'),
          onClick: () => void this.setUnits(!this.unitsOn),
        });
      }
    }

    const search = textField({ placeholder: 'Search name or op type', id: id('search'), onEnter: (q) => void this.search(q) });
    this.results = dropdown({ id: id('search-results'), title: 'Search results', onChange: (i) => this.revealMatch(i) });
    this.results.el.classList.add('hidden');
    this.searchStatus = h('span', { class: 'muted search-status', attrs: { id: id('search-status') } });
    this.openBtn = button('Open', { title: 'Open the selected layer (or double-click it)', id: id('btn-open'), onClick: () => this.selected && this.expand(this.selected) });
    this.closeBtn = button('Close', { title: 'Close the selected layer, or the layer around the selected operator', id: id('btn-close'), onClick: () => this.closeSelected() });
    this.progressText = h('span', { class: 'muted' });
    this.progressEl = h('span', { class: 'progress hidden', attrs: { id: id('progress') } },
      progressRing(), this.progressText, button('Cancel', { title: 'Stop laying out; keep the previous view', id: id('btn-cancel'), onClick: () => (this.cancelled = true) }));

    const toolbar = h('div', { class: 'toolbar', attrs: { role: 'toolbar' } },
      button('Fit', { title: 'Fit the graph to the window', id: id('btn-fit'), onClick: () => this.renderer.fit() }),
      button('+', { title: 'Zoom in', appearance: 'icon', id: id('btn-zoom-in'), onClick: () => this.renderer.zoomBy(1.25) }),
      button('−', { title: 'Zoom out', appearance: 'icon', id: id('btn-zoom-out'), onClick: () => this.renderer.zoomBy(0.8) }),
      h('span', { class: 'sep' }),
      this.openBtn, this.closeBtn,
      button('Close all', { title: 'Back to the top-level layers', id: id('btn-collapse-all'), onClick: () => void this.setExpanded([]) }),
      h('span', { class: 'sep' }),
      search, this.results.el, this.searchStatus,
      ...(this.hideBtn ? [h('span', { class: 'sep' }), this.hideBtn] : []),
      ...(this.unitsBtn ? [this.unitsBtn] : []),
      h('span', { class: 'grow' }),
      this.countsEl,
      this.progressEl,
      // Export for device… (the host asks target, folder and format).
      button('Export…', { title: 'Export the training step for a device: binary, C sources or ONNX', id: id('btn-export'), onClick: () => this.host.notify({ type: EXPORT_REQUESTED }) }),
    );
    this.el = h('div', { class: 'graph-view' }, toolbar, h('div', { class: 'graph-main' }, this.graphEl, detailsEl));

    this.renderer = new GraphRenderer(this.graphEl, this.palette, {
      onSelect: (id) => void this.select(id),
      onToggle: (id) => (this.expanded.includes(id) ? this.collapse(id) : this.expand(id)),
      onHover: (id, at) => this.hover(id, at),
    });
    if (this.units) {
      this.graphEl.append(this.units.legend, this.units.tip);
      // Cytoscape sends no mouseout when the pointer leaves the canvas from inside a box.
      this.graphEl.addEventListener('mouseleave', () => this.units?.hideTip());
      // The plan was recompiled (device, overrides, scheme): recolour what is drawn.
      host.on(MessageType.PlanUpdate, () => {
        if (this.unitsOn) void this.loadUnits();
      });
    }
    this.engine = new LayoutEngine((item) => this.renderer.leafSize(item));
    // Escape stops a running layout, like the Cancel button.
    window.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.graphEl.dataset.state === 'layout') this.cancelled = true;
    });
    onThemeChange(() => {
      this.palette = readPalette();
      this.renderer.setPalette(this.palette);
      if (this.unitsOn && this.units?.overlay) this.units.renderLegend(this.palette);
      if (this.view) void this.redraw();
    });
    this.updateButtons();
  }

  /** First paint from the Init message: the collapsed view needs no round trip. */
  async start(init: InitMessage, training?: TrainingInfo | null, linked?: LinkedItem[]): Promise<void> {
    const { summary, view: initial } = init;
    this.summary = summary;
    this.training = training ?? init.training ?? null;
    this.linked = linked ?? [];
    this.showCounts();
    this.renderer.cy.resize(); // now that the canvas is in the document
    this.details.showSummary(summary, this.graph === 'model' ? null : this.training);
    const saved = this.savedState();
    this.hidePrunedOn = !!saved?.hidePruned;
    if (this.unitsBtn && saved?.units) this.unitsOn = true;
    this.unitsBtn?.setAttribute('appearance', this.unitsOn ? 'primary' : 'secondary');
    // The overlay is asked for beside the first layout; whichever arrives last paints.
    if (this.unitsOn) void this.loadUnits();
    this.hideBtn?.setAttribute('appearance', this.hidePrunedOn ? 'primary' : 'secondary');
    if (saved?.expanded?.length || this.graph !== 'model' || this.hidePrunedOn) {
      // Training tabs ask for their own collapsed view (Init carries the Model tab's).
      await this.setExpanded(saved?.expanded ?? [], { fit: true });
      if (saved?.selected) await this.select(saved.selected, false);
    } else {
      await this.show(initial, { fit: true });
    }
  }

  /** Per-tab state inside the webview's one saved state (the Model tab keeps the top-level fields). */
  private savedState(): SavedState | undefined {
    const all = this.host.getState<SavedState & { tabs?: Record<string, SavedState> }>();
    return this.key === 'model' ? all : all?.tabs?.[this.key];
  }

  private saveState(): void {
    const mine: SavedState = { expanded: this.expanded, selected: this.selected, hidePruned: this.hidePrunedOn, ...(this.unitsBtn ? { units: this.unitsOn } : {}) };
    const all = this.host.getState<SavedState & { tabs?: Record<string, SavedState> }>() ?? { expanded: [], selected: null };
    if (this.key === 'model') this.host.setState({ ...all, ...mine });
    else this.host.setState({ ...all, tabs: { ...all.tabs, [this.key]: mine } });
  }

  /** The scheme changed and the step was recompiled: restyle (or, if this tab's nodes changed, refetch) in place. */
  async applyTraining(info: TrainingInfo): Promise<void> {
    const t0 = performance.now();
    this.training = info;
    this.showCounts();
    const g = this.graph as TrainingGraphId;
    if (this.graph !== 'model' && this.view) {
      // Hidden pruned nodes change with the scheme too, so that view is asked for again.
      if (info.changed.includes(g) || this.hidePrunedOn) await this.setExpanded(this.expanded);
      else this.applyOverlays();
      this.graphEl.dataset.trainingVersion = String(info.version);
      this.graphEl.dataset.trainingUpdateMs = String(Math.round(performance.now() - t0));
    }
    if (this.selected) void this.refreshDetails();
    else if (this.summary && this.graph !== 'model') this.details.showSummary(this.summary, info);
  }

  /** Items linked to the selection in some tab (the host computes them for every tab). */
  setLinked(items: LinkedItem[]): void {
    this.linked = items;
    this.applyOverlays();
  }

  private async setHidePruned(on: boolean): Promise<void> {
    this.hidePrunedOn = on;
    this.hideBtn?.setAttribute('appearance', on ? 'primary' : 'secondary');
    this.graphEl.dataset.hidePruned = String(on);
    // The drawing changes a lot either way: show all of it again.
    await this.setExpanded(this.expanded, { fit: true });
    if (this.selected && !this.view?.items.some((i) => i.id === this.selected)) await this.select(null);
    this.saveState();
  }

  private showCounts(): void {
    const t = this.training;
    if (!t || this.graph === 'model') {
      this.countsEl.textContent = this.summary ? `${formatCount(this.summary.nodeCount)} nodes` : '';
      return;
    }
    const c = t.counts[this.graph as TrainingGraphId];
    const parts = [`${formatCount(c.nodes)} nodes`];
    if (c.pruned) parts.push(`${formatCount(c.pruned)} pruned`);
    parts.push(formatFlops(c.flops));
    this.countsEl.textContent = parts.join(' · ');
    this.countsEl.title = `${GRAPH_TITLES[this.graph]} graph of the compiled step under ${t.schemeSource}${t.schemeError ? ` (scheme error: ${t.schemeError})` : ''}`;
    this.countsEl.dataset.nodes = String(c.nodes);
    this.countsEl.dataset.pruned = String(c.pruned);
    this.countsEl.classList.toggle('error-text', !!t.schemeError);
  }

  /** Pruned greying and linked highlights on what is drawn now. */
  private applyOverlays(): void {
    if (!this.view) return;
    if (this.training && this.graph !== 'model') {
      this.renderer.setPruned(new Set(this.training.prunedItems), this.training.prunedGroups[this.graph as TrainingGraphId]);
    }
    const visible = new Set(this.view.items.map((i) => i.id));
    const ids = new Set<string>();
    for (const m of this.linked) {
      if (visible.has(m.id)) ids.add(m.id);
      else {
        const shown = [...m.path].reverse().find((p) => visible.has(p) && !this.expanded.includes(p));
        if (shown) ids.add(shown);
      }
    }
    this.renderer.setLinked([...ids].filter((i) => i !== this.selected));
    this.paintUnits();
  }

  /** Turns "colour by unit" on (asking the host for the overlay of the current plan) or off. */
  private async setUnits(on: boolean): Promise<void> {
    if (!this.units) return;
    this.unitsOn = on;
    this.unitsBtn?.setAttribute('appearance', on ? 'primary' : 'secondary');
    this.saveState();
    if (on) await this.loadUnits();
    else {
      this.units.hideLegend();
      this.renderer.setUnits(null);
    }
  }

  private async loadUnits(): Promise<void> {
    if (!this.units || !(await this.units.load()) || !this.unitsOn) return;
    this.units.hideTip(); // it names the previous plan's unit and time
    this.units.renderLegend(this.palette);
    this.paintUnits();
  }

  private paintUnits(): void {
    if (!this.units || !this.unitsOn || !this.units.overlay || !this.view) return;
    this.renderer.setUnits(this.units.paint(this.palette));
    this.graphEl.dataset.unitPaintedVersion = String(this.units.overlay.planVersion);
  }

  private hover(id: string | null, at: { x: number; y: number } | null): void {
    if (!this.units || !this.unitsOn) return;
    const item = id ? this.itemById.get(id) : undefined;
    const lines = item && at ? this.units.tipLines(item.id, item.kind === 'op' ? `${item.label} ${item.sublabel}` : item.label) : null;
    if (lines && at) this.units.showTip(lines, at);
    else this.units.hideTip();
  }

  /** Highlights the box that shows an operator (itself, or the closed layer it is in), e.g. from a schedule strip. */
  hoverNode(nodeId: string | null): void {
    if (!this.view || !this.units) return;
    const drawn = new Set(this.view.items.map((i) => i.id));
    this.renderer.setHovered(nodeId === null ? null : this.units.shownBox(nodeId, drawn, new Set(this.expanded)));
  }

  expand(id: string): void {
    if (this.expanded.includes(id)) return;
    void this.setExpanded([...this.expanded, id], { focus: [id] });
  }

  collapse(id: string): void {
    // Closing a group closes everything inside it too (item ids of descendants are not known here, but
    // the host drops expanded ids that are no longer visible).
    void this.setExpanded(this.expanded.filter((e) => e !== id), { focus: [id] });
  }

  private closeSelected(): void {
    if (!this.selected || !this.view) return;
    if (this.expanded.includes(this.selected)) return this.collapse(this.selected);
    const parent = this.view.items.find((i) => i.id === this.selected)?.parent;
    if (parent) this.collapse(parent);
  }

  /** Shows the graph with these groups open; a later call cancels an unfinished earlier one. */
  async setExpanded(expanded: string[], opts: { focus?: string[]; fit?: boolean } = {}): Promise<boolean> {
    const gen = ++this.generation;
    const t0 = performance.now();
    this.cancelled = false;
    this.setState('layout');
    let view: VisibleGraph;
    try {
      view = await this.host.request({ type: MessageType.GetView, graph: this.graph, expanded, ...(this.hidePrunedOn ? { hidePruned: true } : {}) });
    } catch (e) {
      this.fail(e);
      return false;
    }
    if (gen !== this.generation) return false;
    this.graphEl.dataset.requestMs = String(Math.round(performance.now() - t0));
    const ok = await this.show(view, opts, gen);
    // From the user's gesture to the drawn graph: host round trip, layout and draw.
    if (ok) this.graphEl.dataset.updateMs = String(Math.round(performance.now() - t0));
    return ok;
  }

  private async show(view: VisibleGraph, opts: { focus?: string[]; fit?: boolean }, gen = ++this.generation): Promise<boolean> {
    this.setState('layout');
    const open = new Set(view.expanded);
    const timer = setTimeout(() => this.progressEl.classList.remove('hidden'), PROGRESS_DELAY_MS);
    const t0 = performance.now();
    try {
      const result = await this.engine.layout(view.items, view.edges, open, () => this.cancelled || gen !== this.generation, (p) => {
        this.progressText.textContent = `Laying out ${p.done}/${p.total}`;
      });
      const t1 = performance.now();
      this.renderer.draw(view, result, open);
      // Timings for the benchmark and the tests: ELK layout (uncached groups only) and cytoscape draw.
      this.graphEl.dataset.layoutMs = String(Math.round(t1 - t0));
      this.graphEl.dataset.drawMs = String(Math.round(performance.now() - t1));
      this.graphEl.dataset.laidOutGroups = String(result.laidOut);
      this.view = view;
      this.itemById = new Map(view.items.map((i) => [i.id, i]));
      this.expanded = view.expanded;
      this.saveState();
      this.applyOverlays();
      if (opts.fit) this.renderer.reveal(undefined, false);
      else if (opts.focus) this.renderer.reveal(opts.focus);
      if (this.selected) {
        this.renderer.select(this.selected);
        void this.refreshDetails(); // e.g. "Open layer" becomes "Close layer"
      }
      this.highlightMatches();
      this.setState('ready');
      return true;
    } catch (e) {
      if (e instanceof LayoutCancelled) {
        if (gen === this.generation) this.setState(this.view ? 'ready' : 'loading');
        return false;
      }
      this.fail(e);
      return false;
    } finally {
      clearTimeout(timer);
      if (gen === this.generation) this.progressEl.classList.add('hidden');
      this.updateButtons();
    }
  }

  private async redraw(): Promise<void> {
    if (this.view) await this.show(this.view, {});
  }

  /** `announce` false: restoring saved state, so the other tabs' links are not recomputed. */
  async select(id: string | null, announce = true): Promise<void> {
    this.selected = id;
    this.renderer.select(id);
    this.updateButtons();
    this.saveState();
    const layer = id?.startsWith('g:') ? id.slice(2).split('#')[0] : null;
    if (announce) this.host.notify({ type: MessageType.Selected, graph: this.graph, id, layer });
    if (!id) {
      if (this.summary) this.details.showSummary(this.summary, this.graph === 'model' ? null : this.training);
      return;
    }
    await this.refreshDetails();
  }

  private async refreshDetails(): Promise<void> {
    const id = this.selected;
    if (!id) return;
    try {
      const reply = await this.host.request({ type: MessageType.GetDetails, graph: this.graph, id });
      if (this.selected === id) this.details.show(reply);
    } catch (e) {
      this.details.showError((e as Error).message);
    }
  }

  /** Opens the groups on the path and selects the item (from search, the Layers tree, or later views). */
  async reveal(id: string, path: string[]): Promise<void> {
    const next = [...this.expanded];
    for (const p of path) if (!next.includes(p)) next.push(p);
    if (next.length !== this.expanded.length) await this.setExpanded(next, { focus: [id] });
    else this.renderer.reveal([id]);
    await this.select(id);
  }

  async search(query: string): Promise<void> {
    if (!query.trim()) {
      this.matches = [];
      this.results.el.classList.add('hidden');
      this.searchStatus.textContent = '';
      this.highlightMatches();
      return;
    }
    const r = await this.host.request({ type: MessageType.Search, graph: this.graph, query, limit: 200 });
    this.matches = r.matches;
    this.searchStatus.textContent = r.total === 0 ? 'no match' : r.total > r.matches.length ? `${r.matches.length} of ${r.total}` : `${r.total} match${r.total === 1 ? '' : 'es'}`;
    this.searchStatus.dataset.count = String(r.total);
    this.results.setOptions(r.matches.map((m) => ({ value: m.id, label: `${m.opType} — ${m.label}` })));
    this.results.el.classList.toggle('hidden', r.matches.length === 0);
    if (r.matches.length) await this.reveal(r.matches[0].id, r.matches[0].path);
    this.highlightMatches();
  }

  private revealMatch(id: string): void {
    const m = this.matches.find((x) => x.id === id);
    if (m) void this.reveal(m.id, m.path);
  }

  /** Marks the visible search hits; a hit inside a closed layer marks that layer's box. */
  private highlightMatches(): void {
    if (!this.view) return;
    const visible = new Set(this.view.items.map((i) => i.id));
    const ids = new Set<string>();
    for (const m of this.matches) {
      if (visible.has(m.id)) ids.add(m.id);
      else {
        const shown = [...m.path].reverse().find((p) => visible.has(p) && !this.expanded.includes(p));
        if (shown) ids.add(shown);
      }
    }
    this.renderer.highlight([...ids]);
  }

  fit(): void {
    this.renderer.fit();
  }

  focusSearch(): void {
    (this.el.querySelector('#search') as HTMLElement | null)?.focus();
  }

  private updateButtons(): void {
    const item = this.view?.items.find((i) => i.id === this.selected);
    setDisabled(this.openBtn, !(item?.kind === 'group' && item.expandable && !this.expanded.includes(item.id)));
    setDisabled(this.closeBtn, !(item && (this.expanded.includes(item.id) || item.parent)));
  }

  private setState(s: 'loading' | 'layout' | 'ready' | 'error'): void {
    this.graphEl.dataset.state = s;
  }

  /** The tab is shown again (tab switch): canvas size may have changed while hidden. */
  shown(): void {
    this.renderer.cy.resize();
  }

  private fail(e: unknown): void {
    this.setState('error');
    const message = e instanceof Error ? e.message : String(e);
    this.details.showError(message);
    this.host.notify({ type: MessageType.WebviewError, message });
  }
}

function formatFlops(f: number): string {
  if (f >= 1e12) return `${(f / 1e12).toFixed(2)} TFLOP`;
  if (f >= 1e9) return `${(f / 1e9).toFixed(2)} GFLOP`;
  if (f >= 1e6) return `${(f / 1e6).toFixed(1)} MFLOP`;
  if (f >= 1e3) return `${(f / 1e3).toFixed(1)} kFLOP`;
  return `${f} FLOP`;
}
