// A small synchronous layered (Sugiyama) layout for one group's members, top to bottom: cycle breaking by
// DFS, longest-path layering (sources pulled down next to their first consumer), dummy nodes on long edges,
// barycentric ordering sweeps (best crossing count kept), and x placement that keeps edges straight
// (ordered isotonic regression of each node's neighbour barycentre, real vertices before dummies).
// Why not ELK for these: ELK's first call in a fresh page costs 250-550 ms of GWT warm-up even for 6 nodes,
// and a re-layout of a 40-member group 100-250 ms; this takes 1-5 ms for the groups a network view has
// (chains with skip connections and branches, 5-60 members). The layout engine keeps ELK for groups this
// one leaves with edge crossings. Measured: every group of the fixtures' and the 7B-shaped model's Model
// tab, and of MobileNetV2's training tabs (first 80 groups each), is crossing-free here except the
// Whole-step tab's top level (2 crossings).

export interface FastNode { id: string; width: number; height: number }
export interface FastPoint { x: number; y: number }
export interface FastLayout {
  width: number;
  height: number;
  /** Top-left of each member. */
  positions: Map<string, FastPoint>;
  /** Bend points of each edge "s>t" that spans more than one layer (through its dummy nodes). */
  routes: Map<string, FastPoint[]>;
  /** Edge crossings left after ordering (between adjacent layers, dummies included). */
  crossings: number;
}

export const NODE_SPACING = 24;
export const LAYER_SPACING = 36;
/** Dummy nodes (the bends of long edges) are narrow so long edges bundle tightly beside the chain. */
const DUMMY_WIDTH = 8;
const SWEEPS = 8;

interface Vertex { w: number; h: number; layer: number; order: number; x: number; dummy: boolean }

export function fastLayout(members: FastNode[], edgeList: [string, string][]): FastLayout {
  const n = members.length;
  const index = new Map(members.map((m, i) => [m.id, i]));
  const vs: Vertex[] = members.map((m) => ({ w: m.width, h: m.height, layer: 0, order: 0, x: 0, dummy: false }));
  // Unique edges between distinct members, in input (model) order.
  const seen = new Set<string>();
  const edges: { s: number; t: number; key: string }[] = [];
  for (const [a, b] of edgeList) {
    const s = index.get(a);
    const t = index.get(b);
    const key = `${a}>${b}`;
    if (s === undefined || t === undefined || s === t || seen.has(key)) continue;
    seen.add(key);
    edges.push({ s, t, key });
  }

  // Cycle breaking: a DFS in model order; edges to a vertex on the stack point up and are reversed.
  const out: number[][] = Array.from({ length: n }, () => []);
  edges.forEach((e, i) => out[e.s].push(i));
  const reversed = new Set<number>();
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  for (let r = 0; r < n; r++) {
    if (state[r]) continue;
    const stack: [number, number][] = [[r, 0]];
    state[r] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, k] = top;
      if (k >= out[v].length) {
        state[v] = 2;
        stack.pop();
        continue;
      }
      top[1]++;
      const ei = out[v][k];
      const t = edges[ei].t;
      if (state[t] === 1) reversed.add(ei);
      else if (state[t] === 0) {
        state[t] = 1;
        stack.push([t, 0]);
      }
    }
  }
  const dag = edges.map((e, i) => (reversed.has(i) ? { s: e.t, t: e.s } : { s: e.s, t: e.t }));
  const succ: number[][] = Array.from({ length: n }, () => []);
  const pred: number[][] = Array.from({ length: n }, () => []);
  for (const e of dag) {
    succ[e.s].push(e.t);
    pred[e.t].push(e.s);
  }

  // Longest-path layering in topological order, then sources (inputs, constants) move down to just above
  // their nearest consumer so they do not all sit in the top row with long edges down.
  const indeg = pred.map((p) => p.length);
  const topo: number[] = [];
  for (let i = 0; i < n; i++) if (!indeg[i]) topo.push(i);
  for (let k = 0; k < topo.length; k++) for (const t of succ[topo[k]]) if (--indeg[t] === 0) topo.push(t);
  for (const v of topo) for (const t of succ[v]) vs[t].layer = Math.max(vs[t].layer, vs[v].layer + 1);
  for (let k = topo.length - 1; k >= 0; k--) {
    const v = topo[k];
    if (pred[v].length || !succ[v].length) continue;
    vs[v].layer = Math.min(...succ[v].map((t) => vs[t].layer)) - 1;
  }

  // Long edges become chains of dummy vertices, one per layer crossed.
  const down: number[][] = Array.from({ length: n }, () => []);
  const up: number[][] = Array.from({ length: n }, () => []);
  const chains: number[][] = [];
  const link = (a: number, b: number): void => {
    down[a].push(b);
    up[b].push(a);
  };
  for (const e of dag) {
    const chain = [e.s];
    for (let l = vs[e.s].layer + 1; l < vs[e.t].layer; l++) {
      const d = vs.length;
      vs.push({ w: DUMMY_WIDTH, h: 0, layer: l, order: 0, x: 0, dummy: true });
      down.push([]);
      up.push([]);
      link(chain[chain.length - 1], d);
      chain.push(d);
    }
    link(chain[chain.length - 1], e.t);
    chain.push(e.t);
    chains.push(chain);
  }

  // Initial order: model order within each layer (dummies after the vertex they leave).
  const layerCount = vs.reduce((m, v) => Math.max(m, v.layer + 1), 0);
  let layers: number[][] = Array.from({ length: layerCount }, () => []);
  const placed = new Uint8Array(vs.length);
  const visitDown = (v: number): void => {
    if (placed[v]) return;
    placed[v] = 1;
    layers[vs[v].layer].push(v);
  };
  for (let i = 0; i < n; i++) {
    visitDown(i);
    for (const c of chains) if (c[0] === i) for (const d of c.slice(1, -1)) visitDown(d);
  }
  const setOrders = (ls: number[][]): void => ls.forEach((l) => l.forEach((v, k) => (vs[v].order = k)));
  setOrders(layers);

  const crossingsOf = (): number => {
    let total = 0;
    for (let l = 0; l + 1 < layerCount; l++) {
      const es: [number, number][] = [];
      for (const v of layers[l]) for (const t of down[v]) es.push([vs[v].order, vs[t].order]);
      for (let i = 0; i < es.length; i++) {
        for (let j = i + 1; j < es.length; j++) {
          if ((es[i][0] - es[j][0]) * (es[i][1] - es[j][1]) < 0) total++;
        }
      }
    }
    return total;
  };
  let best = layers.map((l) => l.slice());
  let bestCrossings = crossingsOf();
  for (let sweep = 0; sweep < SWEEPS && bestCrossings > 0; sweep++) {
    const goingDown = sweep % 2 === 0;
    for (let step = 1; step < layerCount; step++) {
      const l = goingDown ? step : layerCount - 1 - step;
      const nbr = goingDown ? up : down;
      const key = new Map<number, number>();
      for (const v of layers[l]) {
        const ns = nbr[v];
        // Vertices without neighbours on that side keep their place.
        key.set(v, ns.length ? ns.reduce((s, u) => s + vs[u].order, 0) / ns.length : vs[v].order);
      }
      layers[l].sort((a, b) => key.get(a)! - key.get(b)! || vs[a].order - vs[b].order);
      layers[l].forEach((v, k) => (vs[v].order = k));
    }
    const c = crossingsOf();
    if (c < bestCrossings) {
      bestCrossings = c;
      best = layers.map((x) => x.slice());
    }
  }
  layers = best;
  setOrders(layers);

  // X placement: each vertex wants the mean centre of its neighbours in the layer swept from; within a
  // layer the order and spacing are kept by isotonic regression (pool adjacent violators) of
  // desired x minus the packed offset, which is the least-squares placement under those constraints.
  const gap = (a: number, b: number): number => (vs[a].w + vs[b].w) / 2 + (vs[a].dummy && vs[b].dummy ? NODE_SPACING / 2 : NODE_SPACING);
  for (const l of layers) {
    let x = 0;
    l.forEach((v, k) => {
      if (k > 0) x += gap(l[k - 1], v);
      vs[v].x = x;
    });
  }
  const placeLayer = (l: number[], desired: number[], weight: number[]): void => {
    if (!l.length) return;
    const offset: number[] = [0];
    for (let k = 1; k < l.length; k++) offset.push(offset[k - 1] + gap(l[k - 1], l[k]));
    // Blocks of pooled values: [mean, weight, count].
    const blocks: [number, number, number][] = [];
    for (let k = 0; k < l.length; k++) {
      blocks.push([desired[k] - offset[k], weight[k], 1]);
      while (blocks.length > 1 && blocks[blocks.length - 2][0] > blocks[blocks.length - 1][0]) {
        const b = blocks.pop()!;
        const a = blocks[blocks.length - 1];
        const w = a[1] + b[1];
        a[0] = (a[0] * a[1] + b[0] * b[1]) / w;
        a[1] = w;
        a[2] += b[2];
      }
    }
    let k = 0;
    for (const [mean, , count] of blocks) for (let c = 0; c < count; c++, k++) vs[l[k]].x = mean + offset[k];
  };
  const relax = (l: number, nbrsOf: (v: number) => number[]): void => {
    const ns = layers[l].map((v) => {
      // A real vertex lines up with its real neighbours (chains stay straight); dummies follow their edge.
      const all = nbrsOf(v);
      const real = vs[v].dummy ? all : all.filter((u) => !vs[u].dummy);
      return real.length ? real : all;
    });
    const desired = layers[l].map((v, k) => (ns[k].length ? ns[k].reduce((s, u) => s + vs[u].x, 0) / ns[k].length : vs[v].x));
    // Real vertices weigh more, so a long edge's dummies give way and the edge runs beside the chain;
    // vertices without neighbours on that side weigh little.
    const weight = layers[l].map((v, k) => (ns[k].length ? (vs[v].dummy ? 1 : 50) : 0.01));
    placeLayer(layers[l], desired, weight);
  };
  for (let pass = 0; pass < 6; pass++) {
    if (pass % 2 === 0) for (let l = 1; l < layerCount; l++) relax(l, (v) => up[v]);
    else for (let l = layerCount - 2; l >= 0; l--) relax(l, (v) => down[v]);
  }
  for (let pass = 0; pass < 2; pass++) for (let l = 0; l < layerCount; l++) relax(l, (v) => up[v].concat(down[v]));

  // Coordinates: layers stacked top-down, each as tall as its tallest member, members centred in it.
  let minX = Infinity;
  let maxX = -Infinity;
  for (const v of vs) {
    minX = Math.min(minX, v.x - v.w / 2);
    maxX = Math.max(maxX, v.x + v.w / 2);
  }
  const layerY: number[] = [];
  const layerH: number[] = [];
  let y = 0;
  for (const l of layers) {
    const h = l.reduce((m, v) => Math.max(m, vs[v].h), 0);
    layerY.push(y);
    layerH.push(h);
    y += h + LAYER_SPACING;
  }
  const positions = new Map<string, FastPoint>();
  members.forEach((m, i) => {
    const v = vs[i];
    positions.set(m.id, { x: v.x - v.w / 2 - minX, y: layerY[v.layer] + (layerH[v.layer] - v.h) / 2 });
  });
  const routes = new Map<string, FastPoint[]>();
  chains.forEach((chain, i) => {
    if (chain.length <= 2) return;
    const pts = chain.slice(1, -1).map((d) => ({ x: vs[d].x - minX, y: layerY[vs[d].layer] + layerH[vs[d].layer] / 2 }));
    routes.set(edges[i].key, reversed.has(i) ? pts.reverse() : pts);
  });
  return { width: n ? maxX - minX : 0, height: Math.max(0, y - LAYER_SPACING), positions, routes, crossings: bestCrossings };
}
