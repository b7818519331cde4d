// One graph tab: toolbar (fit, zoom, open/close layer, search), the canvas and the details panel. It keeps
// the set of open groups, asks the host for the visible graph of that set, lays it out (cancellable, with
// progress) and draws it. The same class will show the Forward/Backward/Optimizer/Whole-step graphs: it is
// parameterised by the GraphId it requests.
//
// For tests from outside (browser test, code-server e2e): #graph carries data-state ("loading", "layout",
// "ready", "error") and data-node-count / data-edge-count after each render.

import { MessageType, type GraphId, type InitMessage, type ModelSummary, type SearchMatch, type VisibleGraph } from '../../src/protocol';
import type { Host } from '../host';
import type { TabView } from '../tabView';
import { h } from '../ui/dom';
import { button, dropdown, progressRing, setDisabled, textField, type Dropdown } from '../ui/toolkit';
import { DetailsPanel } from './details';
import { LayoutCancelled, LayoutEngine } from './layout';
import { GraphRenderer } from './renderer';
import { onThemeChange, readPalette } from './theme';

interface SavedState {
  expanded: string[];
  selected: string | null;
}

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

  constructor(private readonly host: Host, private readonly graph: GraphId) {
    this.graphEl = h('div', { class: 'graph-canvas', attrs: { id: 'graph', 'data-state': 'loading', 'data-node-count': '0', role: 'img', 'aria-label': 'Model graph' } });
    const detailsEl = h('aside', { class: 'details', attrs: { id: 'details', 'aria-live': 'polite' } });
    this.details = new DetailsPanel(detailsEl, { expand: (id) => this.expand(id), collapse: (id) => this.collapse(id), isOpen: (id) => this.expanded.includes(id) });

    const search = textField({ placeholder: 'Search name or op type', id: 'search', onEnter: (q) => void this.search(q) });
    this.results = dropdown({ id: 'search-results', title: 'Search results', onChange: (id) => this.revealMatch(id) });
    this.results.el.classList.add('hidden');
    this.searchStatus = h('span', { class: 'muted search-status', attrs: { id: 'search-status' } });
    this.openBtn = button('Open', { title: 'Open the selected layer (or double-click it)', id: 'btn-open', onClick: () => this.selected && this.expand(this.selected) });
    this.closeBtn = button('Close', { title: 'Close the selected layer, or the layer around the selected operator', id: 'btn-close', onClick: () => this.closeSelected() });
    this.progressText = h('span', { class: 'muted' });
    this.progressEl = h('span', { class: 'progress hidden', attrs: { id: 'progress' } },
      progressRing(), this.progressText, button('Cancel', { title: 'Stop laying out; keep the previous view', id: 'btn-cancel', onClick: () => (this.cancelled = true) }));

    const toolbar = h('div', { class: 'toolbar', attrs: { role: 'toolbar' } },
      button('Fit', { title: 'Fit the graph to the window', id: 'btn-fit', onClick: () => this.renderer.fit() }),
      button('+', { title: 'Zoom in', appearance: 'icon', id: 'btn-zoom-in', onClick: () => this.renderer.zoomBy(1.25) }),
      button('−', { title: 'Zoom out', appearance: 'icon', id: 'btn-zoom-out', onClick: () => this.renderer.zoomBy(0.8) }),
      h('span', { class: 'sep' }),
      this.openBtn, this.closeBtn,
      button('Close all', { title: 'Back to the top-level layers', id: 'btn-collapse-all', onClick: () => void this.setExpanded([]) }),
      h('span', { class: 'sep' }),
      search, this.results.el, this.searchStatus,
      h('span', { class: 'grow' }),
      this.progressEl,
    );
    this.el = h('div', { class: 'graph-view' }, toolbar, h('div', { class: 'graph-main' }, this.graphEl, detailsEl));

    this.renderer = new GraphRenderer(this.graphEl, readPalette(), {
      onSelect: (id) => void this.select(id),
      onToggle: (id) => (this.expanded.includes(id) ? this.collapse(id) : this.expand(id)),
    });
    this.engine = new LayoutEngine((item) => this.renderer.leafSize(item));
    // Escape stops a running layout, like the Cancel button.
    window.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.graphEl.dataset.state === 'layout') this.cancelled = true;
    });
    onThemeChange(() => {
      this.renderer.setPalette(readPalette());
      if (this.view) void this.redraw();
    });
    this.updateButtons();
  }

  /** First paint from the Init message: the collapsed view needs no round trip. */
  async start(init: InitMessage): Promise<void> {
    const { summary, view: initial } = init;
    this.summary = summary;
    this.renderer.cy.resize(); // now that the canvas is in the document
    this.details.showSummary(summary);
    const saved = this.host.getState<SavedState>();
    if (saved?.expanded?.length) {
      await this.setExpanded(saved.expanded, { fit: true });
      if (saved.selected) await this.select(saved.selected);
    } else {
      await this.show(initial, { fit: true });
    }
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
      view = await this.host.request({ type: MessageType.GetView, graph: this.graph, expanded });
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
      this.expanded = view.expanded;
      this.host.setState<SavedState>({ expanded: this.expanded, selected: this.selected });
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

  async select(id: string | null): Promise<void> {
    this.selected = id;
    this.renderer.select(id);
    this.updateButtons();
    this.host.setState<SavedState>({ expanded: this.expanded, selected: id });
    const layer = id?.startsWith('g:') ? id.slice(2).split('#')[0] : null;
    this.host.notify({ type: MessageType.Selected, graph: this.graph, id, layer });
    if (!id) {
      if (this.summary) this.details.showSummary(this.summary);
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

  private fail(e: unknown): void {
    this.setState('error');
    const message = e instanceof Error ? e.message : String(e);
    this.details.showError(message);
    this.host.notify({ type: MessageType.WebviewError, message });
  }
}
