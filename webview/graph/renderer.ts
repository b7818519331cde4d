// Draws a laid-out visible graph with cytoscape: operators as boxes coloured by family, groups as boxes
// that open into compound boxes, aggregated edges. Labels are canvas text, so model strings never become
// markup. Positions come from layout.ts (preset), so cytoscape never runs a layout of its own.

import cytoscape from 'cytoscape';
import type { ViewItem, VisibleGraph } from '../../src/protocol';
import { GROUP_PAD, type LayoutResult, type Point, type Size } from './layout';
import { opCategory, type Palette } from './theme';

/** What setUnits colours: per operator item its unit's colour; per collapsed group box its mix of units. */
export interface UnitPaint {
  ops: Map<string, { unit: string; color: string }>;
  /** Group item id -> units inside with their colours and operator counts (largest first). */
  groups: Map<string, { unit: string; color: string; ops: number }[]>;
}

export interface RendererEvents {
  onSelect(id: string | null): void;
  /** Double-click on a group: open or close it. */
  onToggle(id: string): void;
  /** The pointer entered a box (its position in the canvas, CSS pixels) or left it (null). */
  onHover?(id: string | null, at: { x: number; y: number } | null): void;
}

const FONT_SIZE = 11;
/** Below this zoom the 11 px labels are unreadable; reveal() does not go lower (Fit does). */
const MIN_READABLE_ZOOM = 0.75;
const MAX_REVEAL_ZOOM = 1.3;
const LINE_HEIGHT = 15;

export class GraphRenderer {
  readonly cy: cytoscape.Core;
  private measureCtx = document.createElement('canvas').getContext('2d')!;

  constructor(private readonly container: HTMLElement, private palette: Palette, events: RendererEvents) {
    this.cy = cytoscape({
      container,
      // The container may not be in the document yet; nothing to lay out until draw() brings positions.
      layout: { name: 'preset' },
      style: this.stylesheet(),
      minZoom: 0.02,
      maxZoom: 4,
      boxSelectionEnabled: false,
      selectionType: 'single',
      autoungrabify: true,
    });
    new ResizeObserver(() => this.cy.resize()).observe(container);
    this.cy.on('tap', 'node', (e) => events.onSelect(e.target.id()));
    this.cy.on('tap', (e) => {
      if (e.target === this.cy) events.onSelect(null);
    });
    // mousemove too: the tooltip follows the pointer, and comes back on a box re-entered from outside the canvas.
    this.cy.on('mouseover mousemove', 'node', (e) => events.onHover?.(e.target.id(), e.renderedPosition ?? null));
    this.cy.on('mouseout', 'node', () => events.onHover?.(null, null));
    this.cy.on('viewport', () => events.onHover?.(null, null));
    this.cy.on('dbltap', 'node', (e) => {
      const kind = e.target.data('kind');
      if (kind === 'group') events.onToggle(e.target.id());
    });
  }

  /** The text a box shows, one entry per line. */
  labelLines(item: ViewItem, open: boolean): string[] {
    switch (item.kind) {
      case 'group': {
        const unknown = item.unknownCount ? ` · ${item.unknownCount} unknown` : '';
        return open ? [`▾ ${item.label}  (${item.sublabel}${unknown})`] : [`▸ ${item.label}`, `${item.sublabel}${unknown}`];
      }
      case 'op':
        return [item.unknown ? `${item.label} ?` : item.label, ...(item.sublabel ? [truncate(item.sublabel, 28)] : [])];
      default:
        return [truncate(item.label, 32), ...(item.sublabel ? [truncate(item.sublabel, 32)] : [])];
    }
  }

  /** Box size for a collapsed item, from its measured label. */
  leafSize(item: ViewItem): Size {
    const lines = this.labelLines(item, false);
    this.measureCtx.font = `${FONT_SIZE}px ${this.palette.font}`;
    const w = Math.max(...lines.map((l) => this.measureCtx.measureText(l).width));
    const minW = item.kind === 'group' ? 110 : 76;
    // Inputs and outputs are tags: the pointed end holds no text.
    const extra = item.kind === 'input' || item.kind === 'output' ? 44 : 22;
    return { width: Math.ceil(Math.max(minW, w + extra)), height: lines.length * LINE_HEIGHT + 14 };
  }

  draw(view: VisibleGraph, layout: LayoutResult, open: Set<string>): void {
    const elements: cytoscape.ElementDefinition[] = [];
    for (const item of view.items) {
      const isOpen = open.has(item.id);
      const c = layout.centers.get(item.id) ?? { x: 0, y: 0 };
      const s = layout.sizes.get(item.id) ?? { width: 80, height: 30 };
      elements.push({
        group: 'nodes',
        data: {
          id: item.id,
          ...(item.parent ? { parent: item.parent } : {}),
          label: this.labelLines(item, isOpen).join('\n'),
          kind: item.kind,
          color: item.kind === 'op' ? this.palette.categories[opCategory(item.opType ?? '')] : this.palette.ioFill,
          w: s.width,
          h: s.height,
        },
        position: { x: c.x, y: c.y },
        classes: [item.kind, item.unknown || item.unknownCount ? 'unknown' : '', isOpen ? 'open' : ''].filter(Boolean).join(' '),
      });
    }
    const parentOf = new Map(view.items.map((i) => [i.id, i.parent]));
    for (const e of view.edges) {
      // An edge that leaves its group (rotary tables and masks feeding every decoder layer) is drawn faint
      // and unlabelled, so that fans of them do not drown the structure inside the groups.
      const cross = parentOf.get(e.source) !== parentOf.get(e.target);
      const route = layout.routes.get(e.id);
      const seg = route && !cross ? segmentsOf(route, layout.centers.get(e.source), layout.centers.get(e.target)) : null;
      elements.push({
        group: 'edges',
        data: {
          id: e.id, source: e.source, target: e.target, label: e.count > 1 ? `${e.count} tensors` : e.label, width: Math.min(4, 1.2 + Math.log2(e.count)),
          ...(seg ? { weights: seg.weights, distances: seg.distances } : {}),
        },
        classes: cross ? 'cross' : seg ? 'routed' : '',
      });
    }
    const selected = this.cy.$(':selected').map((n) => n.id());
    this.cy.batch(() => {
      this.cy.elements().remove();
      this.cy.add(elements);
    });
    for (const id of selected) this.cy.getElementById(id).select();
    this.container.dataset.nodeCount = String(this.cy.nodes().length);
    this.container.dataset.edgeCount = String(this.cy.edges().length);
    // Counts layouts drawn, so a test can tell a restyle (device change) from a redraw.
    this.container.dataset.draws = String(Number(this.container.dataset.draws ?? 0) + 1);
  }

  select(id: string | null): void {
    this.cy.$(':selected').unselect();
    if (id) this.cy.getElementById(id).select();
  }

  highlight(ids: string[]): void {
    this.cy.$('.match').removeClass('match');
    for (const id of ids) this.cy.getElementById(id).addClass('match');
  }

  /** Marks the items linked to the selection in another tab (a forward node's backward nodes). */
  setLinked(ids: string[]): void {
    this.cy.batch(() => {
      this.cy.$('.linked').removeClass('linked');
      for (const id of ids) this.cy.getElementById(id).addClass('linked');
    });
    this.container.dataset.linkedCount = String(ids.length);
  }

  /**
   * Greys pruned items: `items` pruned leaves, `groups` the fraction of a group's operators pruned (a group
   * entirely pruned is greyed, a partly pruned one gets a dashed border). Restyles in place: no layout.
   */
  setPruned(items: Set<string>, groups: Record<string, number>): void {
    let n = 0;
    this.cy.batch(() => {
      this.cy.$('.pruned, .partly-pruned').removeClass('pruned partly-pruned');
      this.cy.nodes().forEach((node) => {
        const id = node.id();
        if (items.has(id) || groups[id] === 1) {
          node.addClass('pruned');
          n++;
        } else if (groups[id] !== undefined) node.addClass('partly-pruned');
      });
    });
    this.container.dataset.prunedCount = String(n);
  }

  /**
   * Colours operators by the unit that runs them and gives each closed group box a bar of its mix of units
   * (widths by operator count); operators the plan does not run are drawn muted. Null: back to op families.
   * Restyles in place: no layout. A painted node has the class `unit-<id>` and data `unit` (a group: its
   * largest unit) and `unitMix` ("cpu:12,gpu:3"), which the tests read.
   */
  setUnits(paint: UnitPaint | null): void {
    let painted = 0;
    this.cy.batch(() => {
      this.cy.nodes().forEach((node) => {
        const prev = node.data('unit') as string | undefined;
        if (prev) node.removeClass(`unit-${prev}`);
        node.removeClass('unit unit-none unit-mix');
        node.removeData('unit unitColor unitMix');
        node.removeStyle();
      });
      if (!paint) return;
      this.cy.nodes().forEach((node) => {
        const id = node.id();
        const kind = node.data('kind');
        if (kind === 'op') {
          const u = paint.ops.get(id);
          if (!u) return void node.addClass('unit-none');
          node.data({ unit: u.unit, unitColor: u.color });
          node.addClass(`unit unit-${u.unit}`);
          painted++;
        } else if (kind === 'group' && !node.hasClass('open')) {
          const mix = paint.groups.get(id);
          if (!mix?.length) return void node.addClass('unit-none');
          node.data({ unit: mix[0].unit, unitColor: mix[0].color, unitMix: mix.map((m) => `${m.unit}:${m.ops}`).join(',') });
          node.addClass(`unit unit-mix unit-${mix[0].unit}`);
          // A hard-edged gradient: one band per unit, as wide as its share of the box's operators.
          const total = mix.reduce((a, m) => a + m.ops, 0);
          const colors: string[] = [];
          const stops: number[] = [];
          let at = 0;
          for (const m of mix) {
            const next = at + (m.ops / total) * 100;
            colors.push(m.color, m.color);
            stops.push(at, next);
            at = next;
          }
          node.style({
            'background-fill': 'linear-gradient', 'background-gradient-direction': 'to-right',
            'background-gradient-stop-colors': colors, 'background-gradient-stop-positions': stops.map((x) => `${x.toFixed(2)}%`),
          });
        }
      });
    });
    this.container.dataset.unitPainted = String(painted);
  }

  /** Marks one item (a schedule-strip hover), or none. */
  setHovered(id: string | null): void {
    this.cy.$('.hovered').removeClass('hovered');
    if (id) this.cy.getElementById(id).addClass('hovered');
    this.container.dataset.hovered = id ?? '';
  }

  fit(ids?: string[], animate = true): void {
    const eles = ids?.length ? this.byIds(ids) : this.cy.elements();
    if (eles.empty()) return;
    if (animate) this.cy.animate({ fit: { eles, padding: 40 }, duration: 200 });
    else this.cy.fit(eles, 40);
  }

  /**
   * Shows the elements readably: fitted if that keeps labels legible, else at the smallest legible zoom,
   * centred across and aligned to their top (a deep network reads from its input down).
   */
  reveal(ids?: string[], animate = true): void {
    const eles = ids?.length ? this.byIds(ids) : this.cy.elements();
    if (eles.empty()) return;
    const bb = eles.boundingBox();
    const pad = 40;
    const w = this.cy.width();
    const h = this.cy.height();
    const fitZoom = Math.min((w - 2 * pad) / Math.max(1, bb.w), (h - 2 * pad) / Math.max(1, bb.h));
    const zoom = Math.max(MIN_READABLE_ZOOM, Math.min(fitZoom, MAX_REVEAL_ZOOM));
    const pan = {
      x: w / 2 - zoom * (bb.x1 + bb.w / 2),
      y: bb.h * zoom <= h - 2 * pad ? h / 2 - zoom * (bb.y1 + bb.h / 2) : pad - zoom * bb.y1,
    };
    if (animate) this.cy.animate({ zoom, pan, duration: 200 });
    else this.cy.viewport({ zoom, pan });
  }

  private byIds(ids: string[]): cytoscape.CollectionReturnValue {
    let c = this.cy.collection();
    for (const id of ids) c = c.union(this.cy.getElementById(id));
    return c;
  }

  zoomBy(factor: number): void {
    this.cy.zoom({ level: this.cy.zoom() * factor, renderedPosition: { x: this.cy.width() / 2, y: this.cy.height() / 2 } });
  }

  setPalette(p: Palette): void {
    this.palette = p;
    this.cy.style(this.stylesheet());
  }

  private stylesheet(): cytoscape.StylesheetJson {
    const p = this.palette;
    const text = { color: p.foreground, 'font-family': p.font, 'font-size': FONT_SIZE, 'text-wrap': 'wrap', 'text-valign': 'center', 'text-halign': 'center', 'line-height': LINE_HEIGHT / FONT_SIZE } as const;
    return [
      { selector: 'core', style: { 'active-bg-color': p.focus, 'active-bg-opacity': 0.15, 'selection-box-color': p.focus } as cytoscape.Css.Core },
      { selector: 'node', style: { ...text, label: 'data(label)', shape: 'round-rectangle', width: 'data(w)', height: 'data(h)', 'border-width': 1, 'border-color': p.border, 'background-color': p.groupFill } },
      { selector: 'node.op', style: { 'background-color': 'data(color)', 'background-opacity': 0.22, 'border-color': 'data(color)', 'border-width': 1.5 } },
      { selector: 'node.input, node.output', style: { shape: 'round-tag', 'background-color': p.ioFill, 'background-opacity': 0.18, 'border-color': p.ioFill, 'border-width': 1.5 } },
      { selector: 'node.group', style: { 'background-color': p.groupFill, 'border-color': p.muted, 'border-width': 1, 'font-weight': 'bold' } },
      {
        selector: 'node.group.open',
        style: {
          'background-color': p.groupOpenFill, 'background-opacity': 0.6, 'border-style': 'dashed', 'border-color': p.muted, padding: `${GROUP_PAD}px`,
          'text-valign': 'top', 'text-halign': 'center', 'text-margin-y': -4, color: p.muted, 'font-weight': 'normal',
        },
      },
      { selector: 'node.unknown', style: { 'border-color': p.error, 'border-style': 'dashed', 'border-width': 2 } },
      { selector: 'node.group.open.unknown', style: { 'border-color': p.error, 'border-width': 1 } },
      { selector: 'node.pruned', style: { 'background-color': p.muted, 'background-opacity': 0.08, 'border-color': p.muted, 'border-style': 'dotted', color: p.muted, opacity: 0.55 } },
      { selector: 'node.group.partly-pruned', style: { 'border-style': 'dashed' } },
      { selector: 'node.op.unit', style: { 'background-color': 'data(unitColor)', 'background-opacity': 0.42, 'border-color': 'data(unitColor)', 'border-width': 2 } },
      { selector: 'node.group.unit-mix', style: { 'background-opacity': 0.42, 'border-color': 'data(unitColor)', 'border-width': 2 } },
      { selector: 'node.op.unit-none, node.group.unit-none', style: { 'background-color': p.muted, 'background-opacity': 0.06, 'border-color': p.muted, 'border-style': 'dotted', color: p.muted } },
      { selector: 'node.linked', style: { 'underlay-color': p.linked, 'underlay-padding': 5, 'underlay-opacity': 0.55, 'underlay-shape': 'round-rectangle' } as cytoscape.Css.Node },
      // Coloured by unit, blue and orange mean CPU and GPU: search hits and links are marked in the text colour instead.
      { selector: 'node.unit.linked, node.unit.match', style: { 'underlay-color': p.foreground, 'underlay-opacity': 0.28 } as cytoscape.Css.Node },
      { selector: 'node.hovered', style: { 'underlay-color': p.foreground, 'underlay-padding': 7, 'underlay-opacity': 0.5, 'underlay-shape': 'round-rectangle' } as cytoscape.Css.Node },
      { selector: 'node:selected', style: { 'border-color': p.focus, 'border-width': 3, 'border-style': 'solid' } },
      { selector: 'node.match', style: { 'underlay-color': p.focus, 'underlay-padding': 6, 'underlay-opacity': 0.45, 'underlay-shape': 'round-rectangle' } as cytoscape.Css.Node },
      {
        selector: 'edge',
        style: {
          width: 'data(width)', 'line-color': p.edge, 'target-arrow-color': p.edge, 'target-arrow-shape': 'triangle', 'arrow-scale': 0.8,
          'curve-style': 'bezier', label: 'data(label)', 'font-size': 9, color: p.muted, 'font-family': p.font, 'min-zoomed-font-size': 9,
          'text-background-color': p.background, 'text-background-opacity': 0.85, 'text-background-padding': '1px',
        },
      },
      {
        selector: 'edge.routed',
        style: { 'curve-style': 'round-segments', 'segment-weights': 'data(weights)', 'segment-distances': 'data(distances)', 'segment-radius': 8, 'edge-distances': 'node-position' } as cytoscape.Css.Edge,
      },
      { selector: 'edge.cross', style: { label: '', 'line-opacity': 0.45, 'arrow-scale': 0.6 } },
      { selector: 'edge:selected', style: { 'line-color': p.focus, 'target-arrow-color': p.focus } },
    ];
  }
}

/**
 * ELK's route as cytoscape segment points: each point as a weight along the centre-to-centre line and a
 * signed distance from it (cytoscape's 'node-position' convention). Null when the ends coincide.
 */
function segmentsOf(route: Point[], s?: Point, t?: Point): { weights: number[]; distances: number[] } | null {
  if (!s || !t) return null;
  const dx = t.x - s.x;
  const dy = t.y - s.y;
  const len2 = dx * dx + dy * dy;
  if (len2 < 1e-6 || route.length === 0) return null;
  const len = Math.sqrt(len2);
  const weights: number[] = [];
  const distances: number[] = [];
  for (const p of route) {
    const px = p.x - s.x;
    const py = p.y - s.y;
    weights.push((px * dx + py * dy) / len2);
    distances.push((px * -dy + py * dx) / len);
  }
  return { weights, distances };
}

function truncate(s: string, n: number): string {
  return s.length > n ? `…${s.slice(s.length - n + 1)}` : s;
}
