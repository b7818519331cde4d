// Proof of the C kernel library against the TypeScript reference runtime (the oracle): for each kernel
// family a generated C program reads random inputs written by this test, runs the kernels, and writes the
// outputs, which must equal the runtime kernel's within 1e-5 of the output's largest magnitude. Shapes
// include odd sizes that are not multiples of the GEMM blocking, broadcasting, groups, depthwise,
// strides, pads and dilations. The GEMM and convolution programs are also cross-compiled for aarch64
// and armhf (static) and run under qemu-aarch64 / qemu-arm.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { emitKernels, familyOf, opFamilies } from '../../src/compiler/codegen/kernels';
import { buildC, runC } from '../../src/compiler/codegen/cprogram';
import { findToolchain, type Toolchain } from '../../src/compiler/codegen/toolchains';
import { ModelError } from '../../src/compiler/onnx/errors';
import { cases as gemmCases } from './ckernels/gemmCases';
import { cases as convCases } from './ckernels/convCases';
import { cases as pointwiseCases } from './ckernels/pointwiseCases';
import { cases as layerCases } from './ckernels/layerCases';
import type { CCase } from './ckernels/harness';
import { programFor, compareOutputs, writeInputs } from './ckernels/harness';

const TOL = 1e-5;
const host = findToolchain('host');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pe-ckernels-'));

async function check(tc: Toolchain, family: string, families: string[], cases: CCase[], label: string): Promise<void> {
  const dir = path.join(work, `${label}-${family}`);
  fs.mkdirSync(dir, { recursive: true });
  writeInputs(dir, cases);
  const exe = await buildC(tc, dir, `t_${family}`, `${emitKernels(families)}\n${programFor(cases)}`, { flags: ['-O2'] });
  await runC(tc, exe, [dir], { env: { OMP_NUM_THREADS: '2' } });
  const worst = compareOutputs(dir, cases, TOL);
  console.log(`  ${label} ${family}: ${cases.length} cases, worst relative error ${worst.err.toExponential(2)} (${worst.where})`);
}

test(`host C kernels match the reference runtime (${host.cc}, OpenMP ${host.openmp ? 'on' : 'off: the compiler lacks it'})`, async (t) => {
  const families: [string, string[], CCase[]][] = [
    ['gemm', ['gemm'], gemmCases()],
    ['conv2d', ['conv2d'], convCases()],
    ['pointwise', ['elementwise'], pointwiseCases()],
    ['layers', ['norm', 'pool', 'softmax', 'reduce', 'movement', 'optim'], layerCases()],
  ];
  await Promise.all(families.map(([name, fams, cs]) => t.test(name, () => check(host, name, fams, cs, 'host'))));
});

test('aarch64 C kernels (static, under qemu-aarch64) match the reference runtime', async (t) => {
  let tc: Toolchain;
  try {
    tc = findToolchain('aarch64');
  } catch (e) {
    assert.fail(`${(e as Error).message} (the aarch64 kernel check needs it; .ci/run installs it)`);
  }
  assert.ok(tc.runner, 'qemu-aarch64 is missing: install it with `apt-get install qemu-user` (.ci/run installs it)');
  await t.test('gemm', () => check(tc, 'gemm', ['gemm'], gemmCases(), 'aarch64'));
  await t.test('conv2d', () => check(tc, 'conv2d', ['conv2d'], convCases(), 'aarch64'));
});

test('armhf C kernels (static, under qemu-arm) match the reference runtime', async (t) => {
  let tc: Toolchain;
  try {
    tc = findToolchain('armhf');
  } catch (e) {
    assert.fail(`${(e as Error).message} (the 32-bit Raspberry Pi kernel check needs it; .ci/run installs it)`);
  }
  assert.ok(tc.runner, 'qemu-arm is missing: install it with `apt-get install qemu-user` (.ci/run installs it)');
  await t.test('gemm', () => check(tc, 'gemm', ['gemm'], gemmCases(), 'armhf'));
  await t.test('conv2d', () => check(tc, 'conv2d', ['conv2d'], convCases(), 'armhf'));
});

test('only the kernel families a model uses are emitted, dependencies first and once', () => {
  const src = emitKernels([familyOf('ConvGradWeight'), familyOf('Relu'), familyOf('Conv')]);
  for (const f of ['pe_conv2d_grad_weight', 'pe_sgemm', 'pe_unary_grad']) assert.ok(src.includes(`void ${f}(`), f);
  for (const f of ['pe_softmax', 'pe_batchnorm_train', 'pe_adam']) assert.ok(!src.includes(`void ${f}(`), f);
  assert.equal(src.split('#define PE_MAX_RANK').length, 2, 'the common prelude appears once');
  assert.ok(src.indexOf('---- gemm ----') < src.indexOf('---- conv2d ----'), 'gemm precedes conv2d, which uses it');
  assert.throws(() => familyOf('NonMaxSuppression'), /no kernel for operator NonMaxSuppression/);
  for (const op of Object.keys(opFamilies)) assert.doesNotThrow(() => emitKernels([familyOf(op)]), op);
});

test('a missing cross compiler is a clear error naming its apt package', () => {
  const saved = process.env.PATH;
  process.env.PATH = path.join(work, 'no-such-bin');
  try {
    assert.throws(() => findToolchain('aarch64'), (e: unknown) => e instanceof ModelError && /apt-get install gcc-aarch64-linux-gnu/.test(e.message));
    assert.throws(() => findToolchain('armhf'), (e: unknown) => e instanceof ModelError && /apt-get install gcc-arm-linux-gnueabihf/.test(e.message));
  } finally {
    process.env.PATH = saved;
  }
});

test.after(() => fs.rmSync(work, { recursive: true, force: true }));
