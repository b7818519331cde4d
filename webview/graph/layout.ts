// Layout of a visible graph, one group at a time, bottom-up, cached (Model Explorer's scheme): each open
// group's members are laid out as plain boxes by a layered algorithm (fastLayout.ts, or ELK, below) (an open child group is a box of
// its own laid-out size), then placed inside their group. Expanding a group lays out that group and
// re-lays out its ancestors' (small) member graphs; everything else comes from the cache.
//
// Where ELK runs — measured (elkjs 0.10 layered, DOWN, random network-like DAGs, 2-core machine, warm):
//   members      10    25    50   100   200    500   1000
//   node (host)  16    28    51    74   156    378    682 ms
//   chromium     24    27    52    97   162    404    812 ms   webview main thread
//   blob worker  12    20   117   199   412    444    822 ms   + 671 ms to start the worker
// ELK is as fast in the webview as in node, a blob worker costs 0.7 s to start and is no faster per layout
// (and is fragile in VS Code webviews: vscode#87282, #315494), and the extension host is shared by every
// extension, so blocking it would be worse. Decision: the webview's main thread, in chunks — one ELK call
// per group, the compiler splits groups above 50 members (MAX_GROUP_ITEMS, about 50 ms per call), and the
// loop yields to the event loop between groups so input, progress and Cancel stay live.
//
// Since then most groups skip ELK (fastLayout.ts, 1-5 ms): the first ELK call in a fresh page costs
// 250-550 ms of GWT warm-up even for 6 nodes, which was most of the first paint, and ELK's 1.5 MB inside
// graph.js cost ~250 ms of script compile. ELK stays for groups the built-in layout leaves with edge
// crossings, and is loaded only when first needed (elkLoader.ts); if it cannot be loaded, such a group
// keeps its built-in layout. Layouts take milliseconds now, so the loop yields only every YIELD_EVERY_MS.

import type { ElkExtendedEdge } from 'elkjs/lib/elk-api';
import type { ViewEdge, ViewItem } from '../../src/protocol';
import { loadElk, type ElkInstance } from './elkLoader';
import { fastLayout } from './fastLayout';

export interface Size { width: number; height: number }
export interface Point { x: number; y: number }

/** Space around an open group's members; the label sits in the extra top band. */
export const GROUP_PAD = 14;
export const GROUP_LABEL_BAND = 22;

interface GroupLayout extends Size {
  /** Top-left of each member relative to the group's content origin. */
  positions: Map<string, Point>;
  /** ELK's orthogonal route of each member-to-member edge ("s>t"), relative to the content origin. */
  routes: Map<string, Point[]>;
}

export interface LayoutResult {
  /** Centre of every visible item; for an open group, the centre of its drawn box. */
  centers: Map<string, Point>;
  /** Size of every visible item (open groups: their drawn box). */
  sizes: Map<string, Size>;
  /** Absolute routes of edges between members of one group, by view edge id. Other edges get none. */
  routes: Map<string, Point[]>;
  laidOut: number;
  fromCache: number;
}

export class LayoutCancelled extends Error {
  constructor() {
    super('layout cancelled');
  }
}

export interface LayoutProgress {
  done: number;
  total: number;
}

const ROOT = '\u0000root';
/** Group layouts kept; each is a few kB, and a session rarely visits more. */
const CACHE_LIMIT = 2000;

/** Groups up to this size whose fast layout has no crossings skip ELK; bigger ones are ELK's job. */
const FAST_MAX_MEMBERS = 150;
/** Yield to the event loop when a layout has run this long without (a setTimeout costs ~4 ms when nested). */
const YIELD_EVERY_MS = 30;

export class LayoutEngine {
  private elk: Promise<ElkInstance> | null = null;
  /** Which layout each group got, in the order laid out (for tests and the benchmark). */
  readonly stats = { fast: 0, elk: 0 };
  private readonly cache = new Map<string, GroupLayout>();

  constructor(private readonly leafSize: (item: ViewItem) => Size) {}

  /**
   * Lays out the items (those with a parent in `open` are members of that open group). `isCancelled` is
   * checked between groups; `onProgress` reports groups laid out so far.
   */
  async layout(items: ViewItem[], edges: ViewEdge[], open: Set<string>, isCancelled: () => boolean, onProgress: (p: LayoutProgress) => void): Promise<LayoutResult> {
    const byId = new Map(items.map((i) => [i.id, i]));
    const members = new Map<string, string[]>([[ROOT, []]]);
    for (const i of items) {
      const p = i.parent ?? ROOT;
      if (!members.has(p)) members.set(p, []);
      members.get(p)!.push(i.id);
    }
    // For each edge, the pair of members of the lowest common open group that it connects.
    const groupEdges = new Map<string, [string, string][]>();
    const direct: { id: string; group: string; key: string }[] = [];
    const chain = (id: string): string[] => {
      const out = [id];
      let p = byId.get(id)?.parent ?? null;
      while (p !== null) {
        out.unshift(p);
        p = byId.get(p)?.parent ?? null;
      }
      return out;
    };
    for (const e of edges) {
      const a = chain(e.source);
      const b = chain(e.target);
      let k = 0;
      while (k < a.length && k < b.length && a[k] === b[k]) k++;
      if (k >= a.length || k >= b.length) continue; // an edge into its own ancestor: not drawn by the layout
      const g = k === 0 ? ROOT : a[k - 1];
      if (!groupEdges.has(g)) groupEdges.set(g, []);
      groupEdges.get(g)!.push([a[k], b[k]]);
      if (a[k] === e.source && b[k] === e.target) direct.push({ id: e.id, group: g, key: `${e.source}>${e.target}` });
    }

    // Post-order over open groups: children's sizes are known before their parent is laid out.
    const order: string[] = [];
    const visit = (g: string): void => {
      for (const m of members.get(g) ?? []) if (open.has(m) && members.has(m)) visit(m);
      order.push(g);
    };
    visit(ROOT);

    const sizes = new Map<string, Size>();
    const layouts = new Map<string, GroupLayout>();
    const sizeOf = (id: string): Size => sizes.get(id) ?? this.leafSize(byId.get(id)!);
    let done = 0;
    let fromCache = 0;
    let lastYield = performance.now();
    for (const g of order) {
      const ms = members.get(g)!;
      const memberSizes = ms.map((m) => ({ id: m, ...sizeOf(m) }));
      const es = groupEdges.get(g) ?? [];
      const key = `${g}|${memberSizes.map((m) => `${m.id}:${Math.round(m.width)}x${Math.round(m.height)}`).join(',')}|${es.map((e) => e.join('>')).join(',')}`;
      let gl = this.cache.get(key);
      if (gl) fromCache++;
      else {
        if (isCancelled()) throw new LayoutCancelled();
        gl = await this.layoutGroup(memberSizes, es);
        this.remember(key, gl);
        done++;
        // The total is an upper bound: groups still ahead may come from the cache.
        onProgress({ done, total: order.length - fromCache });
        if (performance.now() - lastYield > YIELD_EVERY_MS) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
        if (isCancelled()) throw new LayoutCancelled();
      }
      layouts.set(g, gl);
      if (g !== ROOT) sizes.set(g, { width: gl.width + 2 * GROUP_PAD, height: gl.height + 2 * GROUP_PAD + GROUP_LABEL_BAND });
    }

    // Top-down: absolute centres.
    const centers = new Map<string, Point>();
    const origins = new Map<string, Point>();
    const place = (g: string, originX: number, originY: number): void => {
      const gl = layouts.get(g)!;
      origins.set(g, { x: originX, y: originY });
      for (const m of members.get(g) ?? []) {
        const p = gl.positions.get(m)!;
        const s = sizeOf(m);
        const x = originX + p.x;
        const y = originY + p.y;
        centers.set(m, { x: x + s.width / 2, y: y + s.height / 2 });
        if (layouts.has(m)) place(m, x + GROUP_PAD, y + GROUP_PAD + GROUP_LABEL_BAND);
      }
    };
    place(ROOT, 0, 0);
    const allSizes = new Map<string, Size>();
    for (const i of items) allSizes.set(i.id, sizeOf(i.id));
    const routes = new Map<string, Point[]>();
    for (const d of direct) {
      const r = layouts.get(d.group)?.routes.get(d.key);
      const o = origins.get(d.group);
      if (r && o) routes.set(d.id, r.map((p) => ({ x: p.x + o.x, y: p.y + o.y })));
    }
    return { centers, sizes: allSizes, routes, laidOut: done, fromCache };
  }

  /** Caches a group layout, forgetting the oldest beyond CACHE_LIMIT (a Map iterates in insertion order). */
  private remember(key: string, gl: GroupLayout): void {
    this.cache.set(key, gl);
    if (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
  }

  private async layoutGroup(members: ({ id: string } & Size)[], edges: [string, string][]): Promise<GroupLayout> {
    const small = members.length <= FAST_MAX_MEMBERS;
    const fast = small ? fastLayout(members, edges) : null;
    if (fast && fast.crossings === 0) {
      this.stats.fast++;
      return fast;
    }
    let elk: ElkInstance;
    try {
      this.elk ??= loadElk().then((ELK) => new ELK());
      elk = await this.elk;
    } catch (e) {
      this.elk = null;
      console.warn(`ELK is unavailable, using the built-in layout: ${(e as Error).message}`);
      this.stats.fast++;
      return fast ?? fastLayout(members, edges);
    }
    this.stats.elk++;
    return this.elkLayout(elk, members, edges);
  }

  private async elkLayout(elk: ElkInstance, members: ({ id: string } & Size)[], edges: [string, string][]): Promise<GroupLayout> {
    const seen = new Set<string>();
    const elkEdges: ElkExtendedEdge[] = [];
    const keyOf = new Map<string, string>();
    for (const [s, t] of edges) {
      const k = `${s}>${t}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const id = `e${elkEdges.length}`;
      keyOf.set(id, k);
      elkEdges.push({ id, sources: [s], targets: [t] });
    }
    const res = await elk.layout({
      id: 'g',
      layoutOptions: {
        'elk.algorithm': 'layered',
        'elk.direction': 'DOWN',
        'elk.spacing.nodeNode': '24',
        'elk.layered.spacing.nodeNodeBetweenLayers': '36',
        'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
        // Crossing minimisation effort: 2 instead of 7 halves the time per group (25/50/100 members:
        // 45/77/87 ms -> 23/38/67 ms in node) and network graphs, mostly chains, look the same.
        'elk.layered.thoroughness': '2',
        'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
        'elk.padding': '[top=0,left=0,bottom=0,right=0]',
      },
      children: members.map((m) => ({ id: m.id, width: m.width, height: m.height })),
      edges: elkEdges,
    });
    const positions = new Map<string, Point>();
    let width = 0;
    let height = 0;
    for (const c of res.children ?? []) {
      positions.set(c.id, { x: c.x ?? 0, y: c.y ?? 0 });
      width = Math.max(width, (c.x ?? 0) + (c.width ?? 0));
      height = Math.max(height, (c.y ?? 0) + (c.height ?? 0));
    }
    const routes = new Map<string, Point[]>();
    for (const e of res.edges ?? []) {
      const sec = e.sections?.[0];
      const k = keyOf.get(e.id);
      // Bends only: cytoscape clips the ends at the node outlines itself (and refuses a point inside one).
      if (sec?.bendPoints?.length && k) routes.set(k, sec.bendPoints.map((p) => ({ x: p.x, y: p.y })));
    }
    return { width, height, positions, routes };
  }
}

function yieldToEventLoop(): Promise<void> {
  // A macrotask, so pending input and paint run between two ELK calls.
  return new Promise((r) => setTimeout(r, 0));
}
