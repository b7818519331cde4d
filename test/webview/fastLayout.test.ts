// The built-in layered layout (webview/graph/fastLayout.ts) that draws most groups instead of ELK: edges
// point down, boxes do not overlap, chains stay straight, long edges get bend points; and the layout
// engine hands groups it would draw with crossings to ELK (loaded on demand, here from the package).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { fastLayout, type FastLayout, type FastNode } from '../../webview/graph/fastLayout';
import { LayoutEngine } from '../../webview/graph/layout';
import { createGraphViewModel } from '../../src/compiler/view';
import { loadModel } from '../../src/compiler/loadModel';
import type { ViewEdge, ViewItem } from '../../src/protocol';

const fixtures = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');
const box = (id: string, width = 80, height = 30): FastNode => ({ id, width, height });

/** Boxes in one row overlap nowhere, every edge (not reversed by a cycle) runs from above to below. */
function assertReadable(l: FastLayout, nodes: FastNode[], edges: [string, string][], what: string): void {
  const rect = new Map(nodes.map((n) => [n.id, { ...l.positions.get(n.id)!, w: n.width, h: n.height }]));
  for (const n of nodes) {
    const r = rect.get(n.id)!;
    assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.w <= l.width + 1e-6 && r.y + r.h <= l.height + 1e-6, `${what}: ${n.id} inside the group`);
  }
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = rect.get(nodes[i].id)!;
      const b = rect.get(nodes[j].id)!;
      const apart = a.x + a.w <= b.x + 1e-6 || b.x + b.w <= a.x + 1e-6 || a.y + a.h <= b.y + 1e-6 || b.y + b.h <= a.y + 1e-6;
      assert.ok(apart, `${what}: ${nodes[i].id} and ${nodes[j].id} overlap`);
    }
  }
  for (const [s, t] of edges) {
    if (s === t) continue;
    const a = rect.get(s)!;
    const b = rect.get(t)!;
    assert.ok(a.y + a.h <= b.y, `${what}: edge ${s}>${t} points down`);
    for (const p of l.routes.get(`${s}>${t}`) ?? []) assert.ok(p.y > a.y + a.h && p.y < b.y, `${what}: bend of ${s}>${t} between its ends`);
  }
}

test('a chain is one straight column, top to bottom, without bends', () => {
  const nodes = ['a', 'b', 'c', 'd'].map((id, i) => box(id, 60 + 20 * i));
  const edges: [string, string][] = [['a', 'b'], ['b', 'c'], ['c', 'd']];
  const l = fastLayout(nodes, edges);
  assertReadable(l, nodes, edges, 'chain');
  const centres = nodes.map((n) => l.positions.get(n.id)!.x + n.width / 2);
  for (const c of centres) assert.ok(Math.abs(c - centres[0]) < 1e-6, `centres ${centres.join(', ')} line up`);
  assert.equal(l.routes.size, 0);
  assert.equal(l.crossings, 0);
  assert.equal(l.width, 120);
});

test('a residual block: the main path stays straight, the skip edge bends around it', () => {
  const nodes = [box('in'), box('conv1'), box('conv2'), box('conv3'), box('add', 50)];
  const edges: [string, string][] = [['in', 'conv1'], ['conv1', 'conv2'], ['conv2', 'conv3'], ['conv3', 'add'], ['in', 'add']];
  const l = fastLayout(nodes, edges);
  assertReadable(l, nodes, edges, 'residual');
  const cx = (id: string): number => l.positions.get(id)!.x + nodes.find((n) => n.id === id)!.width / 2;
  for (const id of ['conv1', 'conv2', 'conv3']) assert.ok(Math.abs(cx(id) - cx('in')) < 2, `${id} under the input`);
  const bends = l.routes.get('in>add');
  assert.equal(bends?.length, 3, 'one bend per layer crossed');
  const left = l.positions.get('conv2')!.x;
  assert.ok(bends!.every((p) => p.x < left || p.x > left + 80), 'the skip edge passes beside the convolutions');
  assert.equal(l.crossings, 0);
});

test('cycles, duplicate edges, self-loops and unknown ids are tolerated', () => {
  const nodes = [box('a'), box('b'), box('c')];
  const l = fastLayout(nodes, [['a', 'b'], ['b', 'c'], ['c', 'a'], ['a', 'b'], ['b', 'b'], ['a', 'zz']]);
  assert.equal(l.positions.size, 3);
  assertReadable(l, nodes, [['a', 'b'], ['b', 'c']], 'cycle');
  assert.ok(l.routes.has('c>a'), 'the reversed edge is routed back up');
  assert.equal(fastLayout([], []).positions.size, 0);
});

test('every group of the fixture models lays out crossing-free and readable, in milliseconds', () => {
  for (const name of ['mobilenetv2_035', 'tiny_llama', 'cnn_small']) {
    const vm = createGraphViewModel(loadModel(path.join(fixtures, name, 'model.onnx')));
    const queue: string[][] = [[]];
    let groups = 0;
    let worst = 0;
    while (queue.length) {
      const expanded = queue.shift()!;
      const v = vm.visible(expanded);
      const g = expanded.at(-1) ?? null;
      const byId = new Map(v.items.map((i) => [i.id, i]));
      const memberOf = (id: string): string | null => {
        let c: ViewItem | undefined = byId.get(id);
        while (c && (c.parent ?? null) !== g) c = c.parent ? byId.get(c.parent) : undefined;
        return c?.id ?? null;
      };
      const ms = v.items.filter((i) => (i.parent ?? null) === g);
      const nodes = ms.map((m) => box(m.id, 60 + m.label.length * 7, m.kind === 'group' ? 44 : 30));
      const edges: [string, string][] = [];
      for (const e of v.edges) {
        const [a, b] = [memberOf(e.source), memberOf(e.target)];
        if (a && b && a !== b) edges.push([a, b]);
      }
      const t0 = performance.now();
      const l = fastLayout(nodes, edges);
      worst = Math.max(worst, performance.now() - t0);
      assert.equal(l.crossings, 0, `${name} ${g ?? 'top level'}`);
      assertReadable(l, nodes, edges.filter(([a, b]) => !edges.some(([c, d]) => c === b && d === a)), `${name} ${g ?? 'top level'}`);
      groups++;
      for (const m of ms) if (m.kind === 'group') queue.push([...expanded, m.id]);
    }
    assert.ok(groups > 1, `${name}: ${groups} groups`);
    assert.ok(worst < 200, `${name}: slowest group ${worst.toFixed(1)} ms`);
  }
});

test('the engine gives ELK the groups the built-in layout would draw with crossings', async () => {
  // Complete bipartite 3x3: every two-row drawing has crossings.
  const items: ViewItem[] = ['a1', 'a2', 'a3', 'b1', 'b2', 'b3'].map((id) => ({ id, kind: 'op', label: id, sublabel: '', parent: null }));
  const edge = (source: string, target: string): ViewEdge => ({ id: `${source}>${target}`, source, target, count: 1, label: '' });
  const edges = ['a1', 'a2', 'a3'].flatMap((a) => ['b1', 'b2', 'b3'].map((b) => edge(a, b)));
  const engine = new LayoutEngine(() => ({ width: 60, height: 30 }));
  const r = await engine.layout(items, edges, new Set(), () => false, () => undefined);
  assert.deepEqual(engine.stats, { fast: 0, elk: 1 });
  for (const a of ['a1', 'a2', 'a3']) for (const b of ['b1', 'b2', 'b3']) assert.ok(r.centers.get(a)!.y < r.centers.get(b)!.y);
  // A chain stays with the built-in layout.
  await engine.layout(items.slice(0, 2), [edge('a1', 'a2')], new Set(), () => false, () => undefined);
  assert.deepEqual(engine.stats, { fast: 1, elk: 1 });
});
