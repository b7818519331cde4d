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
  assert.ok(init.tabs.filter((t) => t.id !== 'model').every((t) => !t.enabled && t.reason));

  s.receive({ messageId: 7, body: { type: MessageType.GetView, graph: 'model', expanded: ['g:features'] } });
  assert.equal(sent[1].inReplyTo, 7);
  assert.deepEqual(sent[1].body, { type: MessageType.Reply, ok: true, result: vm.visible(['g:features']) });

  s.receive({ messageId: 8, body: { type: MessageType.GetView, graph: 'backward', expanded: [] } });
  const err = sent[2].body;
  assert.equal(err.type === MessageType.Reply && err.ok, false);
  assert.match(err.type === MessageType.Reply ? err.error ?? '' : '', /backward graph is not available/);

  for (const junk of [null, 42, 'x', {}, { messageId: 'a', body: {} }, { messageId: 3, body: { type: 'nope' } }]) s.receive(junk);
  assert.equal(sent.length, 3);
  s.receive({ messageId: 9, body: { type: MessageType.Selected, graph: 'model', id: 'g:features', layer: 'features' } });
  assert.deepEqual(selected, ['features']);
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
