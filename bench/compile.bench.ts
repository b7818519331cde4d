// Full compile (scheme -> sparse step -> passes -> memory plan -> backend assignment) for MobileNetV2 and
// the LLaMA-2-7B-shaped model, and the plan's peak against PyTorch's measured peak for the same model,
// scheme and batch where python3 with torch (apt python3-torch) is importable.
// Goals (issue 5): MobileNetV2 under 100 ms, the 7B-shaped model under 1.5 s.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadModel, type LoadedModel } from '../src/compiler/loadModel';
import { compile, type CompileOptions, type CompileResult } from '../src/compiler/compile';
import { presetScheme } from '../src/compiler/sparse/presets';
import { encodeModel } from '../src/compiler/onnx/encode';
import { buildLlama } from '../src/compiler/samples/llama';
import { torchPython } from './torchPython';

const fixtures = path.resolve(__dirname, '..', '..', 'shared', 'fixtures');
const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const mb = (b: number): string => `${(b / 1e6).toFixed(2)} MB`;
const gb = (b: number): string => `${(b / 1e9).toFixed(2)} GB`;

function timeCompile(l: LoadedModel, opts: CompileOptions, n: number): { ms: number; r: CompileResult } {
  let r = compile(l, opts); // warm-up
  const ms = median(Array.from({ length: n }, () => {
    const t0 = performance.now();
    r = compile(l, opts);
    return performance.now() - t0;
  }));
  return { ms, r };
}

/** `goal` undefined: no goal (the comparison plans come after the first paint of the plan views). */
function line(name: string, what: string, ms: number, goal?: number): void {
  console.log(`${name.padEnd(18)} ${what.padEnd(34)} ${ms.toFixed(1).padStart(8)} ms   ${goal === undefined ? '(after first paint; no goal)' : `goal < ${goal} ms   ${ms < goal ? 'met' : 'MISSED'}`}`);
}

// MobileNetV2 (fixture: width 0.35, batch 2, 96x96), last-2 with frozen BatchNorm, for a Raspberry Pi 4.
const mnv2 = loadModel(path.join(fixtures, 'mobilenetv2_035', 'model.onnx'));
const mScheme = { ...presetScheme('last-2', mnv2.model.graph, mnv2.layers)!, batchnorm: 'frozen' as const };
const m0 = timeCompile(mnv2, { scheme: mScheme, target: 'rpi4', compare: 'none' }, 9);
line('MobileNetV2', 'compile (plan + backends)', m0.ms, 100);
const m1 = timeCompile(mnv2, { scheme: mScheme, target: 'rpi4' }, 5);
line('MobileNetV2', '+ no-reorder and full-update plans', m1.ms);
const mm = m1.r.memory;
console.log(`  peak ${mb(mm.peakBytes)} (live lower bound ${mb(mm.liveBytesPeak)}); without reordering ${mb(mm.peakBytesNoReorder!)}; ` +
  `full update ${mb(mm.peakBytesFullUpdate!)}: ${(mm.peakBytesFullUpdate! / mm.peakBytes).toFixed(2)}x lower (TTE reports ~9x at batch 1); est. step ${m1.r.backends.estStepMs.toFixed(2)} ms on rpi4`);

// LLaMA-2-7B-shaped (float16 weights, never materialised), batch 1, sequence 512, last-2 blocks + biases.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-bench-'));
const llamaFile = path.join(tmp, 'llama7b.onnx');
fs.writeFileSync(llamaFile, encodeModel(buildLlama()));
const llama = loadModel(llamaFile);
const dims = { batch: 1, seq: 512 };
const l0 = timeCompile(llama, { scheme: 'last-2', target: 'jetson-agx-orin', dims, compare: 'none' }, 3);
line('LLaMA-2-7B-shaped', 'compile (plan + backends)', l0.ms, 1500);
const l1 = timeCompile(llama, { scheme: 'last-2', target: 'jetson-agx-orin', dims }, 1);
line('LLaMA-2-7B-shaped', '+ no-reorder and full-update plans', l1.ms);
const lm = l1.r.memory;
console.log(`  ${l1.r.schedule.length} steps, ${lm.tensors.length} tensors; peak ${gb(lm.peakBytes)}; without reordering ${gb(lm.peakBytesNoReorder!)}; ` +
  `full update ${gb(lm.peakBytesFullUpdate!)} (${(lm.peakBytesFullUpdate! / lm.peakBytes).toFixed(2)}x)`);
fs.rmSync(tmp, { recursive: true, force: true });

// PyTorch's measured peak for the same model, scheme and batch.
const probe = spawnSync(torchPython() ?? 'python3', ['-c', 'import torch, torchvision; print(torch.__version__)'], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.log('PyTorch baseline unavailable: python3 cannot import torch and torchvision (apt install python3-torch python3-torchvision)');
} else {
  const trainable = JSON.stringify(m1.r.training.tg.trainable);
  const py = `
import json, resource, torch, torchvision, gc
torch.manual_seed(0); torch.set_num_threads(2)
m = torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=10, dropout=0.0)
train = set(json.loads('${trainable}'))
for n, p in m.named_parameters(): p.requires_grad_(n in train)
m.train()
for mod in m.modules():
  if isinstance(mod, torch.nn.BatchNorm2d): mod.eval()
x = torch.randn(2, 3, 96, 96); y = torch.randint(0, 10, (2,))
opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.01)
def step():
  opt.zero_grad(set_to_none=True); torch.nn.functional.cross_entropy(m(x), y).backward(); opt.step()
step(); gc.collect()
from torch.profiler import profile, ProfilerActivity
with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof: step()
peak = cur = 0
for e in sorted(prof.events(), key=lambda e: e.time_range.start):
  cur += e.cpu_memory_usage
  peak = max(peak, cur)
params = sum(p.numel() * 4 for p in m.parameters())
print(json.dumps({"peak_extra": peak, "params": params, "input": x.numel() * 4 + 16}))
`;
  const r = spawnSync(torchPython() ?? 'python3', ['-c', py], { encoding: 'utf8', timeout: 300000 });
  if (r.status !== 0) console.log(`PyTorch baseline failed: ${r.stderr.trim().split('\n').pop()}`);
  else {
    const t = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const torchPeak = t.peak_extra + t.params + t.input;
    console.log(`PyTorch ${probe.stdout.trim()} (profiler, allocations during one step + parameters + batch): ${mb(torchPeak)}; plan ${mb(mm.peakBytes)}: ratio ${(torchPeak / mm.peakBytes).toFixed(2)}x`);
  }
}
