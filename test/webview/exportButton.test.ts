// The graph view's toolbar Export… button, in a real browser with the real host session: clicking it
// sends the export request, which the session hands to the extension (there: Export for device…).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { GraphSession, loadForView } from '../../src/views/graphSession';
import { openPage, repo, startHarness, type Harness } from './harness/browser';

const model = path.resolve(repo, '..', 'shared', 'fixtures', 'mlp', 'model.onnx');
let h: Harness;

before(async () => {
  h = await startHarness();
});
after(async () => h?.close());

test('graph toolbar: Export… asks the host to export the model', async () => {
  const source = loadForView(model);
  assert.ok('loaded' in source);
  let exports = 0;
  const { page, errors } = await openPage(h, (post) => new GraphSession(model, source, post, { onExport: () => exports++ }, { error: 'not needed here' }));
  try {
    await page.locator('#btn-export').click();
    for (let i = 0; i < 100 && exports === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(exports, 1);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});
