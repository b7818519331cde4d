// The Jetson Nano's GPU code compiled here although nvcc 13 no longer targets sm_53: step_cuda.cu of a
// jetson-nano export (MobileNetV2 and tiny LLaMA, every operator forced onto the GPU) goes through clang
// with the prelude of codegen/ptx.ts and libdevice, to a PTX for sm_53 that defines every kernel the
// source declares (the same kernels nvcc's own PTX of the file has), calls nothing it does not define,
// and that CUDA 13's ptxas assembles (for sm_75: PTX is forward compatible). Without libdevice the same
// PTX has unresolved __nv_* calls, which the check rejects: it is not vacuous.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { exportTraining } from '../../src/compiler/export/exportTraining';
import { checkPtx, clangPtxArgs, compilePtx, cudaDevicePrelude, findPtxTools, readPtx } from '../../src/compiler/codegen/ptx';
import { findToolchain } from '../../src/compiler/codegen/toolchains';
import { ModelError } from '../../src/compiler/onnx/errors';

const run = promisify(execFile);
const repoRoot = path.resolve(__dirname, '..', '..');
const fixtures = path.resolve(repoRoot, '..', 'shared', 'fixtures');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pe-export-ptx-'));
const ALL_ON_GPU = { layers: [{ match: '*', unit: 'gpu' }] };

const kernelsOf = (cu: string): string[] => [...cu.matchAll(/__global__\s+void\s+(\w+)\s*\(/g)].map((m) => m[1]).sort();
/** The C++ name of a PTX entry: `_Z<length><name><parameter types>` (Itanium mangling) or a plain name. */
const unmangled = (entry: string): string => {
  const m = /^_Z(\d+)/.exec(entry);
  return m ? entry.slice(m[0].length, m[0].length + Number(m[1])) : entry;
};

for (const model of ['mobilenetv2_035', 'tiny_llama']) {
  test(`${model}: jetson-nano step_cuda.cu compiles to sm_53 PTX that ptxas assembles`, async () => {
    const out = path.join(work, model);
    const res = await exportTraining({ model: path.join(fixtures, model, 'model.onnx'), target: 'jetson-nano', format: 'c', out, backendOverrides: ALL_ON_GPU });
    assert.deepEqual(res.manifest.cuda?.arch, ['sm_53']);
    const cuFile = path.join(out, 'step_cuda.cu');
    const cu = fs.readFileSync(cuFile, 'utf8');
    const launchers = [...cu.matchAll(/extern "C" void pe_gpu_\d+\(/g)].length;
    assert.ok(launchers > 0);
    assert.equal(launchers, res.manifest.cuda!.gpuOperators);

    const tools = findPtxTools();
    const ptx = path.join(work, `${model}.sm_53.ptx`);
    const made = await compilePtx(cuFile, 'sm_53', ptx, { tools });
    assert.match(made.command, /--cuda-gpu-arch=sm_53/);
    const text = fs.readFileSync(ptx, 'utf8');
    assert.match(text, /^\.target sm_53$/m);
    assert.doesNotMatch(text, /\.extern\s+\.func/);

    const check = await checkPtx(ptx, 'sm_53', { tools });
    assert.equal(check.target, 'sm_53');
    assert.deepEqual(check.externs, []);
    assert.equal(check.assembledFor, 'sm_75');
    assert.ok(check.cubinBytes! > 0);
    // Every kernel of the source, and exactly nvcc's set for the same file.
    const declared = kernelsOf(cu);
    assert.ok(declared.length > 0);
    assert.deepEqual(check.entries.map(unmangled).sort(), declared);
    const nvcc = findToolchain('cuda');
    const nvPtx = path.join(work, `${model}.nvcc.sm_75.ptx`);
    await run(nvcc.cc, ['-arch=sm_75', '--ptx', cuFile, '-o', nvPtx], { timeout: 600_000 });
    assert.deepEqual(readPtx(fs.readFileSync(nvPtx, 'utf8')).entries.sort(), [...check.entries].sort());
  });
}

test('without libdevice the PTX has unresolved __nv_* calls, and checkPtx rejects it', async () => {
  const out = path.join(work, 'mobilenetv2_035');
  const cuFile = path.join(out, 'step_cuda.cu');
  if (!fs.existsSync(cuFile)) {
    await exportTraining({ model: path.join(fixtures, 'mobilenetv2_035', 'model.onnx'), target: 'jetson-nano', format: 'c', out, overwrite: true, backendOverrides: ALL_ON_GPU });
  }
  const tools = findPtxTools();
  const inc = fs.mkdtempSync(path.join(work, 'inc-'));
  fs.writeFileSync(path.join(inc, 'cuda_runtime.h'), cudaDevicePrelude());
  const ptx = path.join(work, 'unlinked.ptx');
  const args = clangPtxArgs(cuFile, 'sm_53', ptx, inc, tools.libdevice);
  const at = args.indexOf('-mlink-builtin-bitcode');
  args.splice(at - 1, 4); // drop -Xclang -mlink-builtin-bitcode -Xclang <libdevice>
  await run(tools.clang, args, { timeout: 600_000 });
  const info = readPtx(fs.readFileSync(ptx, 'utf8'));
  // The math the kernels call (expf in sigmoid/softmax, tanhf, erff...) is left to libdevice.
  const cu = fs.readFileSync(cuFile, 'utf8');
  for (const f of ['expf', 'tanhf', 'erff', 'logf']) {
    assert.match(cu, new RegExp(`\\b${f}\\(`));
    assert.ok(info.externs.includes(`__nv_${f}`), `__nv_${f} unresolved in ${info.externs.join(', ')}`);
  }
  await assert.rejects(checkPtx(ptx, 'sm_53', { tools }), (e: unknown) => e instanceof ModelError && /__nv_expf/.test((e as Error).message));
  await assert.rejects(checkPtx(ptx, 'sm_87', { tools }), (e: unknown) => e instanceof ModelError && /targets "sm_53", not sm_87/.test((e as Error).message));
});

test('a malformed architecture is a ModelError', async () => {
  await assert.rejects(compilePtx(path.join(work, 'none.cu'), 'sm53', path.join(work, 'none.ptx')), (e: unknown) => e instanceof ModelError && /sm_<number>/.test((e as Error).message));
});

test.after(() => fs.rmSync(work, { recursive: true, force: true }));
