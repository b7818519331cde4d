// What the export tests share: where the fixtures are, PyTorch's losses, the reference runtime's parameters
// after one step, and the comparison of a binary's saved parameters against them.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tensor } from '../../../src/compiler/ir/tensor';
import { loadModel } from '../../../src/compiler/loadModel';
import { compile } from '../../../src/compiler/compile';
import { TrainingSession } from '../../../src/compiler/train/session';
import { paramFileName, readBatch, readTensorFile } from '../../../src/compiler/train/data';

export const fixtures = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'fixtures');

export const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

/** A fixture's loss.json: PyTorch's loss, and after one SGD step with the full and the sparse scheme. */
export const lossJson = (model: string): Record<string, number> => JSON.parse(fs.readFileSync(path.join(fixtures, model, 'loss.json'), 'utf8'));

const references = new Map<string, Map<string, Tensor>>();

/** The reference runtime's parameters after one SGD step on the fixture's batch (cached per model and scheme). */
export function referenceParams(model: string, scheme: string): Map<string, Tensor> {
  const key = `${model}-${scheme}`;
  if (!references.has(key)) {
    const tg = compile(loadModel(path.join(fixtures, model, 'model.onnx')), { scheme, compare: 'none' }).training.tg;
    const session = new TrainingSession(tg);
    session.step(readBatch(path.join(fixtures, model, 'test_data'), tg));
    references.set(key, session.params);
  }
  return references.get(key)!;
}

/** Worst relative error (to each tensor's largest magnitude) of the parameters a binary saved in `saved` against `want`. */
export function worstSavedParam(want: Map<string, Tensor>, saved: string): { worst: number; where: string } {
  let worst = 0, where = '-';
  for (const [p, ref] of want) {
    const got = readTensorFile(path.join(saved, paramFileName(p)));
    assert.deepEqual(got.dims, ref.dims, `${p} dims`);
    const a = got.data as Float32Array, b = ref.data as Float32Array;
    let scale = 0, diff = 0;
    for (let i = 0; i < b.length; i++) { scale = Math.max(scale, Math.abs(b[i])); diff = Math.max(diff, Math.abs(a[i] - b[i])); }
    const e = scale > 0 ? diff / scale : diff;
    if (e >= worst) { worst = e; where = p; }
  }
  return { worst, where };
}
