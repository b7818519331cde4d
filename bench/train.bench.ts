// Training-graph build (import + loss + autodiff + optimizer) and one reference-runtime SGD step, against
// PyTorch's eager step measured in the same run where python3-torch is installed.
// Goals (issue 3): MobileNetV2 file -> training graph under 50 ms, the 7B-shaped model under 1 s.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadModel } from '../src/compiler/loadModel';
import { buildTrainingGraph } from '../src/compiler/train/trainingGraph';
import { TrainingSession } from '../src/compiler/train/session';
import { readBatch } from '../src/compiler/train/data';
import { encodeModel } from '../src/compiler/onnx/encode';
import { buildLlama } from '../src/compiler/samples/llama';
import { torchPython } from './torchPython';

const fixtures = path.resolve(__dirname, '..', '..', 'shared', 'fixtures');
const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1];

function fileToTrainingGraph(file: string): number {
  const t0 = performance.now();
  const l = loadModel(file);
  buildTrainingGraph(l.model, { optimizer: { kind: 'sgd', lr: 0.01 }, paramLayer: (p) => l.layers.paramLayer.get(p) ?? '' });
  return performance.now() - t0;
}

const mnv2 = path.join(fixtures, 'mobilenetv2_035', 'model.onnx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-bench-'));
const llama = path.join(tmp, 'llama7b.onnx');
fs.writeFileSync(llama, encodeModel(buildLlama()));
for (const [name, file, goal, n] of [['MobileNetV2', mnv2, 50, 9], ['LLaMA-2-7B-shaped', llama, 1000, 5]] as const) {
  fileToTrainingGraph(file);
  const t = median(Array.from({ length: n }, () => fileToTrainingGraph(file)));
  console.log(`${name.padEnd(18)} file -> training graph  ${t.toFixed(1).padStart(8)} ms   goal < ${goal} ms   ${t < goal ? 'met' : 'MISSED'}`);
}

// One SGD step of the fixture batch in the reference runtime.
const l = loadModel(mnv2);
const tg = buildTrainingGraph(l.model, { optimizer: { kind: 'sgd', lr: 0.01 }, paramLayer: (p) => l.layers.paramLayer.get(p) ?? '' });
const data = readBatch(path.join(fixtures, 'mobilenetv2_035', 'test_data'), tg);
const session = new TrainingSession(tg);
session.step(data);
const steps = Array.from({ length: 3 }, () => {
  const t0 = performance.now();
  session.step(data);
  return performance.now() - t0;
});
const ours = median(steps);
const torch = spawnSync(torchPython() ?? 'python3', ['-c', `
import time, torch, torchvision
torch.set_num_threads(2)
m = torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=10, dropout=0.0).train()
opt = torch.optim.SGD(m.parameters(), lr=0.01)
x = torch.randn(2, 3, 96, 96); y = torch.randint(0, 10, (2,))
ts = []
for i in range(13):
    t0 = time.perf_counter(); opt.zero_grad(); torch.nn.functional.cross_entropy(m(x), y).backward(); opt.step(); ts.append(time.perf_counter() - t0)
print(sorted(ts[3:])[5] * 1000)
`], { encoding: 'utf8' });
const torchMs = torch.status === 0 ? Number(torch.stdout.trim()) : NaN;
console.log(`MobileNetV2 reference-runtime SGD step ${ours.toFixed(0)} ms` +
  (Number.isFinite(torchMs) ? `; PyTorch eager ${torchMs.toFixed(1)} ms in the same run; ratio ${(ours / torchMs).toFixed(1)}x` : '; PyTorch baseline unavailable (apt install python3-torch python3-torchvision)'));
fs.rmSync(tmp, { recursive: true, force: true });
