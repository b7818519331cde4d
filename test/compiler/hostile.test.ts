// Hostile input: damaged copies of the fixture models and of a generated model with external data (truncated, bit-flipped, spliced; a fixed seed, so
// every run checks the same 1200 files) must each open as a valid graph or fail with a ModelError —
// never another exception, never a hang. The cases run in a worker thread so that a hang can be caught
// and named: the main thread gives each case a time limit and kills the worker if one overruns.
//
// Also: external-data locations that are absolute or leave the model's folder are refused, naming the
// tensor; a model whose external-data file is missing opens, and only loading its weights fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { importModelBytes } from '../../src/compiler/onnx/import';
import { encodeModel } from '../../src/compiler/onnx/encode';
import { ModelError } from '../../src/compiler/onnx/errors';
import { loadInitializer } from '../../src/compiler/onnx/tensorData';
import { inferShapes } from '../../src/compiler/ir/inferShapes';
import { buildLayerTree } from '../../src/compiler/ir/layers';
import { loadModel } from '../../src/compiler/loadModel';
import { sizeOf } from '../../src/compiler/ir/tensor';
import { buildLlama } from '../../src/compiler/samples/llama';
import type { Model } from '../../src/compiler/ir/graph';
import { seededRandom as rng } from '../../src/compiler/util/random';

const repoRoot = path.resolve(__dirname, '..', '..');
const fixtures = path.resolve(repoRoot, '..', 'shared', 'fixtures');
const CASES = 1200;
const SEED = 0x5eed2026;
const CASE_LIMIT_MS = 10_000;
/** Initializers bigger than this are not materialised (a flipped dim can claim gigabytes legitimately). */

interface CaseResult {
  index: number;
  what: string;
  outcome: 'graph' | 'model-error' | 'crash';
  message?: string;
  stack?: string;
}


function fixtureModels(): string[] {
  return fs.readdirSync(fixtures).sort().flatMap((d) => {
    const dir = path.join(fixtures, d);
    if (!fs.statSync(dir).isDirectory()) return [];
    return fs.readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort().map((f) => path.join(dir, f));
  });
}

/** The i-th damaged file: deterministic from (SEED, i). A third each: truncation, bit flips, splices. */
function makeCase(files: { name: string; bytes: Uint8Array }[], i: number): { what: string; bytes: Uint8Array } {
  const r = rng(SEED + i * 7919);
  const src = files[Math.floor(r() * files.length)];
  const n = src.bytes.length;
  const at = (): number => Math.floor(r() * n);
  switch (i % 3) {
    case 0: {
      // Truncations cluster near the start half of the time: that is where the graph structure is.
      const cut = r() < 0.5 ? Math.floor(r() * Math.min(n, 4096)) : at();
      return { what: `${src.name} truncated to ${cut} bytes`, bytes: src.bytes.slice(0, cut) };
    }
    case 1: {
      const out = src.bytes.slice();
      const flips = 1 + Math.floor(r() * 8);
      const where: string[] = [];
      for (let k = 0; k < flips; k++) {
        const pos = r() < 0.5 ? Math.floor(r() * Math.min(n, 4096)) : at();
        const bit = Math.floor(r() * 8);
        out[pos] ^= 1 << bit;
        where.push(`${pos}:${bit}`);
      }
      return { what: `${src.name} with bits flipped at ${where.join(',')}`, bytes: out };
    }
    default: {
      // Splice: a chunk of the file (or random bytes) copied over, or inserted at, another place.
      const len = 1 + Math.floor(r() * 64);
      const from = at();
      const to = at();
      const chunk = r() < 0.5 ? src.bytes.slice(from, from + len) : Uint8Array.from({ length: len }, () => Math.floor(r() * 256));
      if (r() < 0.5) {
        const out = src.bytes.slice();
        out.set(chunk.subarray(0, Math.max(0, n - to)), to);
        return { what: `${src.name} overwritten at ${to} with ${chunk.length} bytes from ${from}`, bytes: out };
      }
      const out = new Uint8Array(n + chunk.length);
      out.set(src.bytes.subarray(0, to), 0);
      out.set(chunk, to);
      out.set(src.bytes.subarray(to), to + chunk.length);
      return { what: `${src.name} with ${chunk.length} bytes inserted at ${to}`, bytes: out };
    }
  }
}

/** What a consumer does with a model: import, shapes, layers, and decoding every (reasonably sized) weight. */
function openAndCheck(bytes: Uint8Array, dir: string): Model {
  const model = importModelBytes(bytes, { path: path.join(dir, 'model.onnx'), baseDir: dir });
  inferShapes(model);
  const tree = buildLayerTree(model.graph);
  const g = model.graph;
  for (const n of g.nodes) {
    if (!tree.nodeLayer.has(n.id)) throw new Error(`node ${n.id} has no layer`);
    for (const i of n.inputs) if (i && !g.values.has(i)) throw new Error(`node ${n.id} reads undefined value ${i}`);
  }
  // Inline weights are decoded; external ones point to a file that is absent (tested separately below).
  for (const init of g.initializers.values()) if (init.source.kind === 'inline') loadInitializer(init);
  return model;
}

function runWorker(): void {
  const { files: fileNames, from, to, dir } = workerData as { files: string[]; from: number; to: number; dir: string };
  const files: { name: string; bytes: Uint8Array }[] = fileNames.map((f) => ({ name: path.relative(fixtures, f), bytes: new Uint8Array(fs.readFileSync(f)) }));
  // One more source with external data (to a file that is absent), to damage its locations and offsets.
  files.push({ name: 'generated small LLaMA', bytes: encodeModel(buildLlama({ layers: 2, dim: 64, heads: 4, ffnDim: 176, vocab: 256, weightsLocation: 'w.bin' })) });
  for (let i = from; i < to; i++) {
    const c = makeCase(files, i);
    parentPort!.postMessage({ type: 'start', index: i, what: c.what });
    let res: CaseResult;
    try {
      openAndCheck(c.bytes, dir);
      res = { index: i, what: c.what, outcome: 'graph' };
    } catch (e) {
      res = e instanceof ModelError
        ? { index: i, what: c.what, outcome: 'model-error', message: e.message }
        : { index: i, what: c.what, outcome: 'crash', message: String((e as Error)?.message ?? e), stack: (e as Error)?.stack };
    }
    parentPort!.postMessage({ type: 'done', result: res });
  }
  parentPort!.postMessage({ type: 'end' });
}

/** Runs cases [from, to) in a worker; rejects naming the case that overran its time limit. */
function runCases(files: string[], from: number, to: number, dir: string): Promise<CaseResult[]> {
  return new Promise((resolve, reject) => {
    const boot = `require('tsx/cjs/api').register(); require(${JSON.stringify(__filename)});`;
    const worker = new Worker(boot, { eval: true, workerData: { files, from, to, dir }, resourceLimits: { maxOldGenerationSizeMb: 4096 } });
    const results: CaseResult[] = [];
    let current = '(starting)';
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void worker.terminate();
        reject(new Error(`case ${current} did not finish within ${ms} ms (hang)`));
      }, ms);
    };
    arm(60_000); // worker start-up: loading tsx and the fixtures
    worker.on('message', (m: { type: string; index?: number; what?: string; result?: CaseResult }) => {
      if (m.type === 'start') {
        current = `#${m.index} (${m.what})`;
        arm(CASE_LIMIT_MS);
      } else if (m.type === 'done') results.push(m.result!);
      else if (m.type === 'end') {
        clearTimeout(timer);
        void worker.terminate();
        resolve(results);
      }
    });
    worker.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`worker died during case ${current}: ${e.stack ?? e}`));
    });
  });
}

if (!isMainThread) {
  runWorker();
} else {
  test(`${CASES} truncated, bit-flipped and spliced fixture models each open or fail with a ModelError`, async () => {
    const files = fixtureModels();
    assert.ok(files.length >= 4, `fixture models under ${fixtures}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-hostile-'));
    try {
      // Two workers, one per core, each with its own watchdog.
      const half = Math.ceil(CASES / 2);
      const results = (await Promise.all([runCases(files, 0, half, dir), runCases(files, half, CASES, dir)])).flat();
      assert.equal(results.length, CASES);
      const count = (o: CaseResult['outcome']): number => results.filter((r) => r.outcome === o).length;
      console.log(`hostile: ${count('graph')} opened as a graph, ${count('model-error')} refused with a ModelError, ${count('crash')} other errors`);
      const crashes = results.filter((r) => r.outcome === 'crash');
      assert.deepEqual(
        crashes.slice(0, 5).map((c) => `#${c.index} ${c.what}: ${c.stack}`),
        [],
        `${crashes.length} cases threw something other than a ModelError`,
      );
      // Both outcomes happen: the set really damages structure and really leaves some files usable.
      assert.ok(count('model-error') > CASES / 10 && count('graph') > CASES / 10);
      for (const r of results) if (r.outcome === 'model-error') assert.ok(r.message && r.message.length > 10, `#${r.index}: empty error message`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  /** A one-node model whose weight "w" is external data at `location`. */
  function externalModel(location: string): Uint8Array {
    const model: Model = {
      path: '', irVersion: 8, opsets: { '': 13 }, producerName: 'test', producerVersion: '', modelVersion: 0, docString: '', metadata: {}, warnings: [],
      graph: {
        name: 'g',
        nodes: [{ id: '/lin/MatMul', name: '/lin/MatMul', opType: 'MatMul', domain: '', inputs: ['x', 'lin.weight'], outputs: ['y'], attrs: {}, layer: '' }],
        values: new Map([
          ['x', { name: 'x', type: { dtype: 'float32', shape: ['batch', 4] } }],
          ['lin.weight', { name: 'lin.weight', type: { dtype: 'float32', shape: [4, 3] } }],
          ['y', { name: 'y', type: { dtype: 'float32', shape: ['batch', 3] } }],
        ]),
        inputs: ['x'],
        outputs: ['y'],
        initializers: new Map([['lin.weight', { name: 'lin.weight', dtype: 'float32', dims: [4, 3], source: { kind: 'external', file: '', location, offset: 0, length: 48 } }]]),
      },
    };
    return encodeModel(model);
  }

  test('external data with an absolute location is refused, naming the tensor', () => {
    for (const loc of ['/etc/passwd', 'C:\\Windows\\win.ini']) {
      assert.throws(() => importModelBytes(externalModel(loc), { path: '/tmp/m/model.onnx' }), (e: unknown) => {
        assert.ok(e instanceof ModelError, `not a ModelError: ${e}`);
        assert.match(e.message, /"lin\.weight"/);
        assert.match(e.message, /absolute/);
        return true;
      });
    }
  });

  test('external data that leaves the model folder is refused, naming the tensor', () => {
    for (const loc of ['../escape.bin', 'sub/../../escape.bin', '..\\escape.bin']) {
      assert.throws(() => importModelBytes(externalModel(loc), { path: '/tmp/m/model.onnx' }), (e: unknown) => {
        assert.ok(e instanceof ModelError, `not a ModelError: ${e}`);
        assert.match(e.message, /"lin\.weight"/);
        assert.match(e.message, /leaves the model's folder/);
        return true;
      });
    }
  });

  test('a missing external-data file: the model opens, and loading the weight names the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-extdata-'));
    try {
      const file = path.join(dir, 'model.onnx');
      fs.writeFileSync(file, externalModel('weights.bin'));
      const { model, layers } = loadModel(file);
      assert.deepEqual(model.graph.nodes.map((n) => n.opType), ['MatMul']);
      assert.deepEqual(layers.layers.get('lin')?.params, ['lin.weight']);
      const init = model.graph.initializers.get('lin.weight')!;
      assert.equal(init.source.kind, 'external');
      assert.throws(() => loadInitializer(init), (e: unknown) => {
        assert.ok(e instanceof ModelError, `not a ModelError: ${e}`);
        assert.match(e.message, /weights\.bin/);
        assert.match(e.message, /lin\.weight/);
        return true;
      });
      // Once the file is there, the same initializer loads.
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(new Float32Array(12).map((_, i) => i).buffer));
      assert.deepEqual(Array.from(loadInitializer(init).data as Float32Array), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a tensor that claims more elements than it holds is refused before anything is allocated', () => {
  const init = { name: 'w', dtype: 'float32' as const, dims: [2 ** 40], source: { kind: 'inline' as const, proto: { floatData: [1] } } };
  assert.throws(() => loadInitializer(init), (e: unknown) => e instanceof ModelError && /"w" holds 1 values but its shape needs/.test(e.message));
});
