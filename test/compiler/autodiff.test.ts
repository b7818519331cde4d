// The compiled training step against PyTorch on every fixture: loss, every parameter gradient, the loss
// after one SGD step and the BatchNorm running statistics, for the training exports at opset 13 and 17 and
// for the eval-mode export where its parameters still exist. Prints the worst relative gradient error per
// model, and the MobileNetV2 compile and step times.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel } from '../../src/compiler/loadModel';
import { buildTrainingGraph, type TrainingGraph } from '../../src/compiler/train/trainingGraph';
import { computeGradients, TrainingSession } from '../../src/compiler/train/session';
import { readBatch, readTensorFile } from '../../src/compiler/train/data';
import { execute } from '../../src/compiler/runtime/execute';
import type { Tensor } from '../../src/compiler/ir/tensor';
import { isStatic } from '../../src/compiler/ir/shape';

const fixtures = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');
const models = fs.readdirSync(fixtures).filter((d) => fs.existsSync(path.join(fixtures, d, 'model.onnx'))).sort();

interface ManifestEntry { onnx_initializer_name: string; file: string; shape: number[]; mathematically_zero: boolean }
const manifest = (m: string): ManifestEntry[] => JSON.parse(fs.readFileSync(path.join(fixtures, m, 'grads_full', 'manifest.json'), 'utf8')).params;
const lossJson = (m: string): { loss: number; loss_after_sgd_full: number } => JSON.parse(fs.readFileSync(path.join(fixtures, m, 'loss.json'), 'utf8'));

function compare(got: Tensor, ref: Tensor): { err: number; refMax: number } {
  assert.deepEqual(got.dims, ref.dims);
  let err = 0, refMax = 0;
  for (let i = 0; i < ref.data.length; i++) {
    err = Math.max(err, Math.abs((got.data[i] as number) - (ref.data[i] as number)));
    refMax = Math.max(refMax, Math.abs(ref.data[i] as number));
  }
  return { err, refMax };
}

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
const summary: string[] = [];

function build(m: string, file: string, withSgd: boolean): { tg: TrainingGraph; feeds: Map<string, Tensor> } {
  const loaded = loadModel(path.join(fixtures, m, file));
  const tg = buildTrainingGraph(loaded.model, {
    paramLayer: (p) => loaded.layers.paramLayer.get(p) ?? '',
    optimizer: withSgd ? { kind: 'sgd', lr: 0.01 } : undefined,
  });
  assert.deepEqual(tg.issues, [], `${m}/${file}: every operator has a gradient rule`);
  return { tg, feeds: readBatch(path.join(fixtures, m, 'test_data'), tg) };
}

/** Gradients of `names` (same-named parameters of the reference) within the issue's bound. */
function checkGradients(label: string, m: string, grads: Map<string, Tensor>, entries: ManifestEntry[]): number {
  let worst = 0;
  for (const e of entries) {
    const g = grads.get(e.onnx_initializer_name);
    assert.ok(g, `${label}: no gradient for ${e.onnx_initializer_name}`);
    const ref = readTensorFile(path.join(fixtures, m, 'grads_full', e.file));
    const { err, refMax } = compare(g, ref);
    assert.ok(err <= 1e-4 + 1e-3 * refMax, `${label}: gradient of ${e.onnx_initializer_name} off by ${err} (max |ref| ${refMax})`);
    if (!e.mathematically_zero) worst = Math.max(worst, err / refMax);
  }
  return worst;
}

for (const m of models) {
  for (const file of ['model.onnx', 'model_opset17.onnx']) {
    if (!fs.existsSync(path.join(fixtures, m, file))) continue;
    test(`autodiff: ${m}/${file} loss, gradients and SGD step equal PyTorch's`, () => {
      const ref = lossJson(m);
      const { tg, feeds } = build(m, file, false);
      const { loss, grads } = computeGradients(tg, feeds);
      assert.ok(relErr(loss, ref.loss) <= 1e-5, `${m}/${file}: loss ${loss} vs PyTorch ${ref.loss}`);
      const entries = manifest(m);
      assert.equal(grads.size, entries.length, `${m}/${file}: one gradient per PyTorch parameter`);
      const worst = checkGradients(`${m}/${file}`, m, grads, entries);

      const sgd = build(m, file, true);
      const session = new TrainingSession(sgd.tg);
      // Every value of the whole step has a declared static type, and it is the one the runtime computes.
      const untyped: string[] = [];
      execute(sgd.tg.graph, new Map([...sgd.feeds, ...session.state]), {
        outputs: sgd.tg.graph.outputs, opsets: sgd.tg.opsets,
        onValue: (name, t) => {
          const ty = sgd.tg.graph.values.get(name)?.type;
          if (!ty || !isStatic(ty.shape)) return void untyped.push(name);
          assert.deepEqual([ty.dtype, ty.shape], [t.dtype, t.dims], `${m}/${file}: declared type of ${name}`);
        },
      });
      assert.deepEqual(untyped, [], `${m}/${file}: values without a static type`);
      const first = session.step(sgd.feeds);
      assert.ok(relErr(first, ref.loss) <= 1e-5);
      const after = session.loss(sgd.feeds);
      assert.ok(relErr(after, ref.loss_after_sgd_full) <= 1e-4, `${m}/${file}: loss after one SGD step ${after} vs PyTorch ${ref.loss_after_sgd_full}`);

      // Train-mode BatchNorm updates its running statistics as PyTorch does (unbiased variance).
      const bufDir = path.join(fixtures, m, 'buffers_after_step');
      for (const [b, t] of session.buffers) {
        const refB = readTensorFile(path.join(bufDir, `${b}.pb`));
        const { err, refMax } = compare(t, refB);
        assert.ok(err <= 1e-5 + 1e-5 * refMax, `${m}/${file}: running statistic ${b} off by ${err}`);
      }
      if (fs.existsSync(bufDir)) assert.ok(session.buffers.size > 0, 'BatchNorm buffers were updated');
      const line = `${m}/${file}: loss rel err ${relErr(loss, ref.loss).toExponential(2)}, worst gradient rel err ${worst.toExponential(2)} over ${entries.length} tensors, after-step loss rel err ${relErr(after, ref.loss_after_sgd_full).toExponential(2)}`;
      summary.push(line);
      console.log(line);
    });
  }

  test(`autodiff: ${m}/model_eval.onnx (eval-mode export) where its parameters still exist`, () => {
    const file = 'model_eval.onnx';
    const ref = lossJson(m);
    const { tg, feeds } = build(m, file, false);
    const { loss, grads } = computeGradients(tg, feeds);
    const refLogits = readTensorFile(path.join(fixtures, m, 'test_data', 'output_0.pb'));
    const evalLogits = readTensorFile(path.join(fixtures, m, 'test_data', 'output_eval_0.pb'));
    const logits = execute(tg.graph, feeds, { outputs: [tg.loss.prediction], opsets: tg.opsets }).get(tg.loss.prediction)!;
    assert.ok(compare(logits, evalLogits).err <= 1e-4, `${m}/${file}: logits equal PyTorch's eval-mode logits`);
    const sameAsTrain = compare(evalLogits, refLogits).err <= 1e-5;
    let line: string;
    if (sameAsTrain) {
      // No BatchNorm folded: same function, so same loss, and same gradients for parameters the export kept.
      assert.ok(relErr(loss, ref.loss) <= 1e-5, `${m}/${file}: loss ${loss} vs ${ref.loss}`);
      const kept = manifest(m).filter((e) => grads.has(e.onnx_initializer_name));
      const untied = kept.filter((e) => isUntied(m, e.onnx_initializer_name));
      const worst = checkGradients(`${m}/${file}`, m, grads, kept.filter((e) => !untied.includes(e)));
      // Constant folding unties a tied weight (tiny_llama's lm_head = tok_embeddings): the two copies'
      // gradients must add up to PyTorch's tied gradient.
      for (const e of untied) {
        const copy = transposedCopyOf(tg, e.onnx_initializer_name);
        assert.ok(copy, `${m}/${file}: the folded copy of ${e.onnx_initializer_name}`);
        const a = grads.get(e.onnx_initializer_name)!, b = grads.get(copy)!;
        const [r, c] = a.dims;
        const sum = { ...a, data: Float32Array.from(a.data as Float32Array, (v, i) => v + (b.data as Float32Array)[(i % c) * r + Math.floor(i / c)]) };
        const refT = readTensorFile(path.join(fixtures, m, 'grads_full', e.file));
        const { err, refMax } = compare(sum, refT);
        assert.ok(err <= 1e-4 + 1e-3 * refMax, `${m}/${file}: ${e.onnx_initializer_name} + ${copy} gradients off by ${err}`);
      }
      line = `${m}/${file}: same function as the training export; ${kept.length} shared parameters, worst gradient rel err ${worst.toExponential(2)}${untied.length ? `, tied weight split into ${untied.length} folded copy checked as a sum` : ''}`;
    } else {
      // BatchNorm folded into the convolutions: a different function. Its loss is PyTorch's eval-mode
      // cross-entropy, and its gradient agrees with a central difference along a random direction.
      const refLoss = crossEntropy(evalLogits, feeds.get(tg.loss.target)!);
      assert.ok(relErr(loss, refLoss) <= 1e-5, `${m}/${file}: loss ${loss} vs eval-mode cross-entropy ${refLoss}`);
      // ReLU and max-pool kinks make finite differences of a whole network approximate: a few percent.
      const checks = directionalChecks(tg, feeds, grads);
      for (const c of checks) {
        assert.ok(Math.abs(c.analytic - c.numeric) <= 0.05 * Math.abs(c.numeric) + 1e-3, `${m}/${file}: directional derivative along ${c.param}: ${c.analytic} vs finite difference ${c.numeric}`);
      }
      const worstDir = Math.max(...checks.map((c) => Math.abs(c.analytic - c.numeric) / (Math.abs(c.numeric) + 1e-3)));
      line = `${m}/${file}: BatchNorm folded (${grads.size} parameters); loss equals eval-mode cross-entropy; directional derivatives of ${checks.length} tensors vs finite differences, worst |Δ|/(|fd|+1e-3) ${worstDir.toExponential(2)}`;
    }
    const sgd = build(m, file, true);
    const session = new TrainingSession(sgd.tg);
    const before = session.step(sgd.feeds);
    assert.ok(session.loss(sgd.feeds) < before, `${m}/${file}: one SGD step lowers the loss`);
    summary.push(line);
    console.log(line);
  });
}

/** Whether a parameter feeds fewer nodes in the eval export than in the training export (folded copy). */
function isUntied(m: string, param: string): boolean {
  const uses = (file: string): number => loadModel(path.join(fixtures, m, file)).model.graph.nodes.filter((n) => n.inputs.includes(param)).length;
  return uses('model_eval.onnx') < uses('model.onnx');
}

/** An eval-export initializer holding the transpose of `param` (what constant folding made of Transpose(param)). */
function transposedCopyOf(tg: TrainingGraph, param: string): string | undefined {
  const src = execute(tg.graph, new Map(), { outputs: [param] }).get(param)!;
  if (src.dims.length !== 2) return undefined;
  const [r, c] = src.dims;
  for (const p of tg.params) {
    if (p === param) continue;
    const t = execute(tg.graph, new Map(), { outputs: [p] }).get(p)!;
    if (t.dims.length !== 2 || t.dims[0] !== c || t.dims[1] !== r) continue;
    let same = true;
    for (let i = 0; i < r && same; i++) for (let j = 0; j < c; j++) if (src.data[i * c + j] !== t.data[j * r + i]) { same = false; break; }
    if (same) return p;
  }
  return undefined;
}

function crossEntropy(logits: Tensor, labels: Tensor): number {
  const C = logits.dims[logits.dims.length - 1];
  const rows = logits.data.length / C;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const row = Array.from((logits.data as Float32Array).subarray(r * C, (r + 1) * C));
    const mx = Math.max(...row);
    total += mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0)) - row[Number(labels.data[r])];
  }
  return total / rows;
}

/**
 * <grad, d> against (L(θ + εd) − L(θ − εd)) / 2ε for a pseudo-random direction d in one parameter tensor,
 * for up to six tensors spread over the model (first and last included).
 */
function directionalChecks(tg: TrainingGraph, feeds: Map<string, Tensor>, grads: Map<string, Tensor>): { param: string; analytic: number; numeric: number }[] {
  const names = [...grads.keys()];
  const pick = [...new Set(Array.from({ length: Math.min(6, names.length) }, (_, k) => names[Math.round((k * (names.length - 1)) / Math.max(1, Math.min(6, names.length) - 1))]))];
  const eps = 1e-3;
  const L = (over: Map<string, Tensor>): number => Number(execute(tg.graph, feeds, { outputs: [tg.loss.loss], overrides: over, opsets: tg.opsets }).get(tg.loss.loss)!.data[0]);
  return pick.map((p) => {
    let s = 7;
    const base = execute(tg.graph, new Map(), { outputs: [p] }).get(p)!;
    const d = Float32Array.from({ length: base.data.length }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
    let analytic = 0;
    const g = grads.get(p)!.data as Float32Array;
    for (let i = 0; i < d.length; i++) analytic += g[i] * d[i];
    const shifted = (sign: number): Map<string, Tensor> => new Map([[p, { ...base, data: Float32Array.from(base.data as Float32Array, (v, i) => v + sign * eps * d[i]) }]]);
    return { param: p, analytic, numeric: (L(shifted(1)) - L(shifted(-1))) / (2 * eps) };
  });
}

// Speed (graph build, runtime step) is measured by `npm run bench` (bench/train.bench.ts), never asserted here.
test('autodiff: worst relative errors per model', () => {
  console.log(summary.join('\n'));
  assert.ok(summary.length >= 8, 'every fixture reported its worst error');
});
