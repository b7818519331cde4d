// Node-side checks of the pieces around the browser test: the host session's protocol handling, the
// webview page's policy, and the layout engine's cache and cancellation (ELK runs in node too).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { GraphSession, loadForView } from '../../src/views/graphSession';
import { contentSecurityPolicy, graphWebviewHtml } from '../../src/views/webviewHtml';
import { MessageType, type Envelope, type ToWebviewMessage } from '../../src/protocol';
import { createGraphViewModel } from '../../src/compiler/view';
import { loadModel } from '../../src/compiler/loadModel';
import { LayoutCancelled, LayoutEngine } from '../../webview/graph/layout';

const mobilenet = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'mobilenetv2_035', 'model.onnx');

test('the session answers Ready with Init, requests with typed replies, and ignores malformed messages', () => {
  const sent: Envelope<ToWebviewMessage>[] = [];
  const selected: (string | null)[] = [];
  const s = new GraphSession(mobilenet, loadForView(mobilenet), (m) => sent.push(m), { onSelected: (_id, layer) => selected.push(layer) });
  s.receive({ messageId: 1, body: { type: MessageType.Ready } });
  const init = sent[0].body;
  assert.equal(init.type, MessageType.Init);
  if (init.type !== MessageType.Init) return;
  const vm = createGraphViewModel(loadModel(mobilenet));
  assert.deepEqual(init.view, vm.visible([]));
  assert.equal(init.tabs.find((t) => t.id === 'model')?.enabled, true);
  // Training and plan tabs are on (the step compiles on first use, the plan when a plan tab asks).
  for (const id of ['forward', 'backward', 'optimizer', 'step', 'schedule', 'memory', 'backends']) assert.equal(init.tabs.find((t) => t.id === id)?.enabled, true, id);
  assert.equal(init.training, undefined, 'not compiled before a training tab asks');

  s.receive({ messageId: 7, body: { type: MessageType.GetView, graph: 'model', expanded: ['g:features'] } });
  assert.equal(sent[1].inReplyTo, 7);
  assert.deepEqual(sent[1].body, { type: MessageType.Reply, ok: true, result: vm.visible(['g:features']) });

  // The first training request compiles the step: its counts arrive (TrainingUpdate), then the reply.
  s.receive({ messageId: 8, body: { type: MessageType.GetView, graph: 'backward', expanded: [] } });
  const upd = sent[2].body;
  assert.equal(upd.type, MessageType.TrainingUpdate);
  assert.equal(sent[3].inReplyTo, 8);
  const reply = sent[3].body;
  assert.ok(reply.type === MessageType.Reply && reply.ok);
  assert.deepEqual(reply.result, s.training!.views.models.backward.visible([]));

  s.receive({ messageId: 10, body: { type: MessageType.GetView, graph: 'nonsense' as 'model', expanded: [] } });
  const err = sent[4].body;
  assert.equal(err.type === MessageType.Reply && err.ok, false);
  assert.match(err.type === MessageType.Reply ? err.error ?? '' : '', /unknown graph "nonsense"/);

  for (const junk of [null, 42, 'x', {}, { messageId: 'a', body: {} }, { messageId: 3, body: { type: 'nope' } }]) s.receive(junk);
  assert.equal(sent.length, 5);
  s.receive({ messageId: 9, body: { type: MessageType.Selected, graph: 'model', id: 'g:features', layer: 'features' } });
  assert.deepEqual(selected, ['features']);
  // Selecting sends the linked items of every tab (here: the features layer's boxes).
  const linked = sent[5].body;
  assert.ok(linked.type === MessageType.Linked && linked.items.backward?.some((i) => i.id === 'g:features'));

  // Locate: where the Layers tree's layer is drawn in a training tab (to reveal it there).
  s.receive({ messageId: 11, body: { type: MessageType.Locate, graph: 'backward', layer: 'features.3' } });
  const loc = sent[6].body;
  assert.ok(loc.type === MessageType.Reply && loc.ok);
  assert.deepEqual(loc.result, s.training!.views.models.backward.locateLayer('features.3'));
  assert.ok((loc.result as { path: string[] }).path.includes('g:features'));
});

test('a model that fails to load becomes a LoadError message', () => {
  const sent: Envelope<ToWebviewMessage>[] = [];
  const source = loadForView('/nonexistent/model.onnx');
  assert.ok('error' in source);
  new GraphSession('/nonexistent/model.onnx', source, (m) => sent.push(m)).receive({ messageId: 1, body: { type: MessageType.Ready } });
  assert.deepEqual(sent[0].body, { type: MessageType.LoadError, fileName: 'model.onnx', message: source.error });
});

test('the page allows only its own nonce-tagged script and its own stylesheets', () => {
  const csp = contentSecurityPolicy({ cspSource: 'https://webview.example', nonce: 'abc123' });
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc123'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  const html = graphWebviewHtml({ cspSource: 'https://webview.example', scriptUri: 'https://webview.example/g.js', styleUri: 'https://webview.example/g.css', nonce: 'abc123', title: '<x>' });
  assert.equal((html.match(/<script/g) ?? []).length, 1);
  assert.match(html, /<script nonce="abc123" src="https:\/\/webview.example\/g.js"><\/script>/);
  assert.match(html, /<title>&lt;x&gt;<\/title>/);
});

test('layout: only changed groups are laid out again; cancelling keeps the cache consistent', async () => {
  const vm = createGraphViewModel(loadModel(mobilenet));
  const engine = new LayoutEngine((item) => ({ width: 60 + item.label.length * 7, height: item.kind === 'group' ? 44 : 30 }));
  const run = (expanded: string[], cancelAfter = Infinity) => {
    const v = vm.visible(expanded);
    let calls = 0;
    return engine.layout(v.items, v.edges, new Set(v.expanded), () => calls >= cancelAfter, () => calls++).then((r) => ({ r, v }));
  };
  const first = await run([]);
  assert.equal(first.r.laidOut, 1); // the top level only
  for (const i of first.v.items) assert.ok(first.r.centers.has(i.id));

  const open = await run(['g:features']);
  assert.equal(open.r.laidOut, 2, 'the opened group and the top level, which now holds a bigger box');
  // Members sit inside their open group's box.
  const box = { c: open.r.centers.get('g:features')!, s: open.r.sizes.get('g:features')! };
  for (const m of open.v.items.filter((i) => i.parent === 'g:features')) {
    const c = open.r.centers.get(m.id)!;
    assert.ok(Math.abs(c.x - box.c.x) < box.s.width / 2 && Math.abs(c.y - box.c.y) < box.s.height / 2, `${m.id} inside features`);
  }
  const again = await run(['g:features']);
  assert.equal(again.r.laidOut, 0);
  assert.deepEqual([...again.r.centers], [...open.r.centers]);

  await assert.rejects(run(['g:features', 'g:features.2', 'g:features.3'], 1), LayoutCancelled);
  const done = await run(['g:features', 'g:features.2', 'g:features.3']);
  assert.ok(done.r.fromCache >= 1, 'what finished before the cancel is reused');
  assert.ok(done.r.laidOut >= 1);
});
