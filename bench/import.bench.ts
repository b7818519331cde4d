// Import + shape inference + layering time for the MobileNetV2 fixture and the LLaMA-2-7B-shaped model.
// Baseline measured in the same run: protobufjs's raw decode of the same bytes (the floor any importer
// built on it pays), so the ratio says what our mapping to the IR costs on this machine today.
// Goal (issue 2): the 7B-shaped graph imports in under 300 ms. The browser's time to first drawn graph is
// bench/webview.bench.ts.
//
// BENCH_RUNS (default 15) timed runs after 3 warm-ups; the first (cold) run is reported separately
// because it is what a user opening a file feels.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelProto } from '../src/compiler/onnx/schema';
import { importModelBytes } from '../src/compiler/onnx/import';
import { encodeModel } from '../src/compiler/onnx/encode';
import { inferShapes } from '../src/compiler/ir/inferShapes';
import { buildLayerTree } from '../src/compiler/ir/layers';
import { buildLlama } from '../src/compiler/samples/llama';
import { inspectModel } from '../src/compiler/inspect';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const WARMUP = 3;
const GOAL_7B_IMPORT_MS = 300;
const repoRoot = path.resolve(__dirname, '..');
const fixtures = path.resolve(repoRoot, '..', 'shared', 'fixtures');

interface Phases {
  read: number;
  decode: number;
  import: number;
  shapes: number;
  layers: number;
}

const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function once(file: string): Phases {
  let t = performance.now();
  const bytes = fs.readFileSync(file);
  const read = performance.now() - t;
  t = performance.now();
  ModelProto.decode(bytes);
  const decode = performance.now() - t;
  t = performance.now();
  const model = importModelBytes(bytes, { path: file });
  const imp = performance.now() - t;
  t = performance.now();
  inferShapes(model);
  const shapes = performance.now() - t;
  t = performance.now();
  const tree = buildLayerTree(model.graph);
  const layers = performance.now() - t;
  // Touch the result so nothing is optimised away, and check the model is the one we think.
  if (tree.layers.size === 0 || inspectModel({ model, layers: tree }).graph.nodes !== model.graph.nodes.length) throw new Error('bad load');
  return { read, decode, import: imp, shapes, layers };
}

function measure(name: string, file: string): void {
  const cold = once(file);
  for (let i = 0; i < WARMUP; i++) once(file);
  const runs: Phases[] = [];
  for (let i = 0; i < RUNS; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    runs.push(once(file));
  }
  const m = (k: keyof Phases): number => median(runs.map((r) => r[k]));
  const total = (p: Phases): number => p.read + p.import + p.shapes + p.layers;
  const totalMed = median(runs.map(total));
  const f = (x: number): string => `${x.toFixed(1).padStart(8)} ms`;
  const size = fs.statSync(file).size;
  console.log(`\n${name}  (${(size / 1e6).toFixed(2)} MB file; median of ${RUNS} after ${WARMUP} warm-ups)`);
  console.log(`  read file                 ${f(m('read'))}`);
  console.log(`  protobuf decode (baseline)${f(m('decode'))}`);
  console.log(`  import (decode + IR)      ${f(m('import'))}   ${(m('import') / m('decode')).toFixed(2)}x baseline`);
  console.log(`  shape inference           ${f(m('shapes'))}`);
  console.log(`  layer tree                ${f(m('layers'))}`);
  console.log(`  total (read..layers)      ${f(totalMed)}   ${(totalMed / m('decode')).toFixed(2)}x baseline`);
  console.log(`  first (cold) run total    ${f(total(cold))}`);
  if (name.includes('7B')) {
    const ok = (x: number): string => (x < GOAL_7B_IMPORT_MS ? 'meets' : 'MISSES');
    console.log(`  goal: import < ${GOAL_7B_IMPORT_MS} ms: import ${m('import').toFixed(0)} ms ${ok(m('import'))} it; ` +
      `with shapes and layers ${totalMed.toFixed(0)} ms ${ok(totalMed)} it; cold ${total(cold).toFixed(0)} ms ${ok(total(cold))} it`);
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-bench-'));
try {
  const llama = path.join(tmp, 'llama7b.onnx');
  const t = performance.now();
  fs.writeFileSync(llama, encodeModel(buildLlama()));
  console.log(`generated the LLaMA-2-7B-shaped model in ${(performance.now() - t).toFixed(0)} ms (6.74e9 float16 parameters as external data that is not written)`);
  console.log(`node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'})`);
  measure('MobileNetV2 (fixtures/mobilenetv2_035/model.onnx)', path.join(fixtures, 'mobilenetv2_035', 'model.onnx'));
  measure('LLaMA-2-7B-shaped (32 layers, 2,879 nodes)', llama);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
