// Export of a compiled training step for a device: C sources (kernels.c with only the kernel families
// the model uses, step.c with the scheduled step over the plan's arena, main.c with the command line),
// a Makefile that also builds on the device, weights.bin, manifest.json and, for --format binary, the
// binary `train` built with the target's compiler. `onnx` writes the training step as one ONNX model.
// Output is atomic: built in a temporary folder beside `out` and renamed into place when complete.

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import '../runtime';
import '../runtime/grad';
import { execute, initializerTensor } from '../runtime/execute';
import { allocArray, type Tensor } from '../ir/tensor';
import type { DType } from '../ir/dtype';
import { loadModel } from '../loadModel';
import { compile, type CompileOptions, type CompileResult } from '../compile';
import { ModelError } from '../onnx/errors';
import { paramFileName } from '../train/data';
import { emitKernels } from '../codegen/kernels';
import { emitStep, slotResolver } from '../codegen/cstep';
import { emitMain, STEP_H, type MainTensor } from '../codegen/cmain';
import { findToolchain, type Toolchain, type ToolchainTarget } from '../codegen/toolchains';
import { cpuOnlyReason, emitCuda, gpuAssigned } from '../codegen/cuda';
import { checkPtx, compilePtx } from '../codegen/ptx';
import { CUDA_HOST_SHIM, CUDA_HOST_SHIM_DIR } from '../codegen/cudaHostShim';
import { checkTarget, commitDir, discardDir, tempBeside } from './atomicDir';
import { exportOnnxStep } from './onnxStep';

const run = promisify(execFile);

/** Export targets: device profiles, plus the 32-bit Raspberry Pi OS. */
export const EXPORT_TARGETS = ['host', 'rpi4', 'rpi5', 'rpi4-armhf', 'jetson-nano', 'jetson-orin-nano', 'jetson-agx-orin'] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];
export type ExportFormat = 'binary' | 'c' | 'onnx';

interface TargetSpec { profile: string; toolchain: ToolchainTarget; cuda?: string[]; note: string }
const TARGETS: Record<ExportTarget, TargetSpec> = {
  host: { profile: 'host', toolchain: 'host', note: "this machine's cc" },
  rpi4: { profile: 'rpi4', toolchain: 'aarch64', note: 'Raspberry Pi 4, 64-bit OS (static aarch64)' },
  rpi5: { profile: 'rpi5', toolchain: 'aarch64', note: 'Raspberry Pi 5, 64-bit OS (static aarch64)' },
  'rpi4-armhf': { profile: 'rpi4', toolchain: 'armhf', note: 'Raspberry Pi 2-5, 32-bit OS (static armhf)' },
  'jetson-nano': { profile: 'jetson-nano', toolchain: 'aarch64', cuda: ['sm_53'], note: 'Jetson Nano: CPU static aarch64, GPU CUDA sm_53' },
  'jetson-orin-nano': { profile: 'jetson-orin-nano', toolchain: 'aarch64', cuda: ['sm_87'], note: 'Jetson Orin Nano: CPU static aarch64, GPU CUDA sm_87' },
  'jetson-agx-orin': { profile: 'jetson-agx-orin', toolchain: 'aarch64', cuda: ['sm_87'], note: 'Jetson AGX Orin: CPU static aarch64, GPU CUDA sm_87' },
};

/** The device profile an export target compiles for (the Backends view's device of the same name). */
export function targetProfile(target: ExportTarget): string {
  return TARGETS[target].profile;
}

export interface ExportOptions {
  model: string;
  /** Scheme file or preset (default full). */
  scheme?: CompileOptions['scheme'];
  target?: ExportTarget;
  format?: ExportFormat;
  /** Output folder (default: `<model dir>/<model name>-<target>-export`). */
  out?: string;
  overwrite?: boolean;
  optimizer?: CompileOptions['optimizer'];
  dims?: Record<string, number>;
  /** C optimisation level for the build here (default 3; the Makefile always says -O3). */
  optLevel?: 0 | 1 | 2 | 3;
  /** Build the host binary for this very CPU (-march=native). */
  native?: boolean;
  /** Save ReLU/Clip masks as bits, as the plan the views show does. */
  bitPackMasks?: boolean;
  /** Backend overrides for the assignment (Jetson: which operators run on the GPU). */
  backendOverrides?: CompileOptions['backendOverrides'];
  /**
   * Jetson targets: also write `cuda-host-shim/cuda_runtime.h`, a host emulation of the CUDA runtime under
   * which step_cuda.cu compiles with g++ and runs on the CPU (tests and development; not for the board).
   */
  cudaHostShim?: boolean;
}

export interface ExportProgress {
  stage: 'compile' | 'values' | 'emit' | 'build' | 'cuda' | 'onnx' | 'commit';
  message: string;
}

export interface ExportResult {
  out: string;
  files: string[];
  manifest: ExportManifest;
  /** Path of the built binary (format binary, when the compiler exists). */
  binary?: string;
  /** Why no binary was built (a missing cross compiler, naming its apt package); sources were written. */
  buildSkipped?: string;
  /** The compiler's output (for an output channel). */
  log: string[];
}

export interface ManifestTensor {
  name: string;
  category: string;
  dtype: string;
  dims: number[];
  bytes: number;
  arenaOffset: number;
  /** Offset in weights.bin, for tensors loaded from it. */
  weightsOffset?: number;
}

export interface ExportManifest {
  format: ExportFormat;
  model: { name: string; path: string };
  scheme: CompileResult['scheme'];
  target: string;
  profile: string;
  toolchain: string;
  plan: { peakBytes: number; arenaBytes: number; liveBytesPeak: number; bitPackedMasks: boolean; inPlaceElementwise: boolean; scratchBytes: number; note: string };
  step: { operators: number; prologueFolded: number; kernelFamilies: string[]; cudaOperators: number };
  /** Jetson targets: the GPU half of the step (step_cuda.cu). */
  cuda?: ManifestCuda;
  inputs: { name: string; file: string; dtype: string; dims: number[] }[];
  params: { name: string; file: string; dims: number[] }[];
  loss: string;
  tensors: ManifestTensor[];
  weightsBytes: number;
}

export interface ManifestCuda {
  /** Operators dispatched to pe_gpu_<k> launchers in a -DPE_CUDA build (step.c's gpuNodes, in launcher order). */
  gpuOperators: number;
  /** Operators the backend assignment put on the GPU that have no CUDA launcher and run on the CPU ("id (op)"). */
  cpuFallback: string[];
  /** Device scratch of the kernels (BatchNorm coefficients), allocated once beside the arena. */
  gpuScratchBytes: number;
  arch: string[];
  /** Make target building the GPU binary on the board. */
  makeTarget: string;
}

const DATA_TYPE: Partial<Record<DType, number>> = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float64: 11 };

function bytesOf(t: Tensor): Uint8Array {
  const d = t.data as unknown as { buffer: ArrayBuffer; byteOffset: number; byteLength: number };
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

function typeDims(r: CompileResult, v: string): { dtype: DType; dims: number[] } {
  const g = r.program.tg.graph;
  const init = g.initializers.get(v);
  if (init) return { dtype: init.dtype as DType, dims: init.dims.slice() };
  const ty = g.values.get(v)?.type;
  if (!ty?.shape) throw new ModelError(`the step's input "${v}" has no known shape; bind its dimensions (--dim name=size)`);
  return { dtype: (ty.dtype ?? 'float32') as DType, dims: ty.shape.map((d) => (typeof d === 'number' ? d : r.dims[d] ?? 1)) };
}

/**
 * Every value of the step (shapes, dtypes, constant operands, folded prologue results), computed once by
 * the reference runtime on a zero batch: the code generator reads shapes and constants from it.
 */
export function stepValues(r: CompileResult): Map<string, Tensor> {
  const tg = r.program.tg;
  const g = tg.graph;
  const feeds = new Map<string, Tensor>();
  for (const v of [...tg.dataInputs, ...tg.state.map((s) => s.name)]) {
    const { dtype, dims } = typeDims(r, v);
    feeds.set(v, { dtype, dims, data: allocArray(dtype, dims.reduce((p, d) => p * d, 1)) } as Tensor);
  }
  const wanted = new Set<string>();
  for (const n of [...r.program.prologue, ...r.program.order]) for (const v of [...n.inputs, ...n.outputs]) if (v && !feeds.has(v)) wanted.add(v);
  const values = new Map<string, Tensor>(feeds);
  const computed = [...wanted].filter((v) => !g.initializers.has(v));
  const out = execute(g, feeds, { outputs: computed, opsets: tg.opsets });
  for (const [k, t] of out) values.set(k, t);
  for (const v of wanted) if (g.initializers.has(v)) values.set(v, initializerTensor(g, v)!);
  return values;
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new ModelError('export cancelled; the previous export (if any) is unchanged');
}

const makefile = (tc: ToolchainTarget, cuda: string[] | undefined, hasCuda: boolean): string => {
  const cc = tc === 'host' ? 'cc' : tc === 'aarch64' ? 'aarch64-linux-gnu-gcc' : 'arm-linux-gnueabihf-gcc';
  const arch = tc === 'aarch64' ? ' -march=armv8-a' : tc === 'armhf' ? ' -march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard' : '';
  const stat = tc === 'host' ? '' : ' -static';
  return `# Builds the exported training binary. Here: make (cross compiler ${cc}); on the device: make CC=cc ARCH=
CC ?= ${cc}
ARCH ?=${arch}
CFLAGS ?= -O3 -std=gnu99
LDSTATIC ?=${stat}
OPENMP := $(shell echo 'int main(void){return 0;}' | $(CC) -fopenmp -x c - -o /dev/null 2>/dev/null && echo -fopenmp)

train: main.c step.c step.h kernels.c
\t$(CC) $(CFLAGS) $(ARCH) $(OPENMP) main.c step.c -o train $(LDSTATIC) $(OPENMP) -lm
${hasCuda ? `
# The GPU binary, built on the board with JetPack's nvcc: make train-gpu (make cuda: only step_cuda.o).
# step.c with -DPE_CUDA runs the GPU operators through step_cuda.cu's launchers; the arena is managed memory.
NVCC ?= nvcc
CUDA_ARCH ?= ${cuda?.[0] ?? 'sm_87'}
cuda: step_cuda.o
step_cuda.o: step_cuda.cu
\t$(NVCC) -O3 -arch=$(CUDA_ARCH) -c step_cuda.cu -o step_cuda.o
train-gpu: main.c step.c step.h kernels.c step_cuda.cu
\t$(NVCC) -O3 -arch=$(CUDA_ARCH) -DPE_CUDA -Xcompiler -fopenmp main.c step.c step_cuda.cu -o train-gpu -lm
` : ''}
clean:
\trm -f train${hasCuda ? ' train-gpu' : ''} *.o
.PHONY: clean${hasCuda ? ' cuda' : ''}
`;
};

/** Builds `train` in `dir` with `tc`; returns the compiler's output. */
async function buildBinary(tc: Toolchain, dir: string, optLevel: number, native: boolean, signal?: AbortSignal): Promise<string> {
  const flags = tc.cflags.filter((f) => !/^-O\d$/.test(f));
  const args = ['-std=gnu99', `-O${optLevel}`, ...flags, ...(native && tc.target === 'host' ? ['-march=native'] : []), 'main.c', 'step.c', '-o', 'train', ...tc.ldflags];
  try {
    const { stderr } = await run(tc.cc, args, { cwd: dir, timeout: 600_000, maxBuffer: 16 << 20, signal });
    return `${tc.cc} ${args.join(' ')}\n${stderr}`;
  } catch (e) {
    throwIfAborted(signal);
    const err = e as { stderr?: string; message: string };
    throw new ModelError(`${path.basename(tc.cc)} failed to build the exported step in ${dir}:\n${(err.stderr || err.message).slice(0, 4000)}`);
  }
}

export function defaultOutDir(model: string, target: string): string {
  return path.join(path.dirname(path.resolve(model)), `${path.basename(model, path.extname(model))}-${target}-export`);
}

export async function exportTraining(opts: ExportOptions, hooks: { onProgress?: (p: ExportProgress) => void; signal?: AbortSignal } = {}): Promise<ExportResult> {
  const { onProgress, signal } = hooks;
  const target = opts.target ?? 'host';
  const spec = TARGETS[target];
  if (!spec) throw new ModelError(`unknown export target "${target}"; use one of: ${EXPORT_TARGETS.join(', ')}`);
  const format = opts.format ?? 'binary';
  if (!['binary', 'c', 'onnx'].includes(format)) throw new ModelError(`unknown export format "${format}"; use binary, c or onnx`);
  const out = path.resolve(opts.out ?? defaultOutDir(opts.model, target));
  checkTarget(out, !!opts.overwrite);
  const progress = (stage: ExportProgress['stage'], message: string): void => { throwIfAborted(signal); onProgress?.({ stage, message }); };

  progress('compile', `compiling ${path.basename(opts.model)} for ${target}`);
  const loaded = loadModel(opts.model);
  const bitPackMasks = opts.bitPackMasks ?? true;
  const r = compile(loaded, { scheme: opts.scheme ?? 'full', target: spec.profile, optimizer: opts.optimizer, dims: opts.dims, bitPackMasks, compare: 'none', backendOverrides: opts.backendOverrides });
  const tg = r.program.tg;
  const temp = tempBeside(out);
  const log: string[] = [];
  const files: string[] = [];
  const write = (name: string, data: string | Uint8Array): void => {
    fs.writeFileSync(path.join(temp, name), data);
    files.push(name);
  };
  try {
    progress('values', 'running the step once in the reference runtime for shapes and folded constants');
    const values = stepValues(r);
    const slotOf = slotResolver(r);
    const plannedBy = new Map(r.plan.tensors.map((t) => [t.name, t]));
    const manifestTensors: ManifestTensor[] = [];
    const weightBlocks: [number, number, number][] = [];
    const chunks: Uint8Array[] = [];
    let weightsBytes = 0;
    const dataInputs = new Set(tg.dataInputs);
    for (const t of r.plan.tensors) {
      const v = values.get(t.name);
      const row: ManifestTensor = { name: t.name, category: t.category, dtype: v?.dtype ?? 'float32', dims: v?.dims ?? [], bytes: t.bytes, arenaOffset: t.offset };
      const persistent = t.firstStep === 0 && t.lastStep === r.plan.steps.length - 1;
      if (persistent && !dataInputs.has(t.name) && (t.category === 'trainable-param' || t.category === 'frozen-param' || t.category === 'optimizer-state')) {
        const src = t.category === 'optimizer-state' ? new Uint8Array(t.bytes) : v ? bytesOf(v) : undefined;
        if (!src) throw new ModelError(`the exporter has no value for the constant "${t.name}"`);
        row.weightsOffset = weightsBytes;
        weightBlocks.push([weightsBytes, t.offset, src.byteLength]);
        chunks.push(src);
        weightsBytes += src.byteLength;
      }
      manifestTensors.push(row);
    }
    const io = (v: string, file: string): MainTensor => {
      const t = values.get(v)!;
      const slot = slotOf(v);
      if (!slot) throw new ModelError(`"${v}" has no place in the memory plan`);
      const dt = DATA_TYPE[t.dtype];
      if (!dt) throw new ModelError(`"${v}" has dtype ${t.dtype}, which the binary cannot read or write`);
      return { name: v, file, offset: slot.offset, dims: t.dims, dataType: dt };
    };
    const modelInputs = tg.dataInputs.filter((n) => n !== tg.loss.target);
    const inputs = [...modelInputs.map((v, k) => io(v, `input_${k}.pb`)), io(tg.loss.target, 'labels.pb')];
    const params = [...tg.updated.keys()].map((p) => io(p, paramFileName(p)));

    progress('emit', 'writing C sources');
    // Jetson: operators assigned to the GPU run through CUDA launchers in a -DPE_CUDA build; any without one stays on the CPU.
    const onGpu = spec.cuda ? gpuAssigned(r) : new Set<string>();
    const cpuFallback = r.program.order.filter((n) => onGpu.has(n.id) && cpuOnlyReason(n, values)).map((n) => `${n.id} (${n.opType}: ${cpuOnlyReason(n, values)})`);
    if (cpuFallback.length) log.push(`${cpuFallback.length} operators assigned to the GPU run on the CPU: ${cpuFallback.join(', ')}`);
    const step = emitStep(r, values, spec.cuda ? { gpu: (n) => onGpu.has(n.id) && !cpuOnlyReason(n, values) } : {});
    write('kernels.c', emitKernels(step.families));
    write('step.h', STEP_H);
    write('step.c', step.source);
    write('main.c', emitMain({ modelName: r.model.name || path.basename(opts.model), inputs, params, weights: weightBlocks, weightsBytes }));
    const weights = new Uint8Array(weightsBytes);
    let at = 0;
    for (const c of chunks) { weights.set(c, at); at += c.byteLength; }
    write('weights.bin', weights);

    let cuda: ManifestCuda | undefined;
    if (spec.cuda) {
      const cu = emitCuda(r, values, step.gpuNodes);
      write('step_cuda.cu', cu.source);
      cuda = { gpuOperators: step.gpuNodes.length, cpuFallback, gpuScratchBytes: cu.gpuScratchBytes, arch: spec.cuda, makeTarget: 'train-gpu' };
      log.push(`${step.gpuNodes.length} of ${r.program.order.length} operators run on the GPU in the -DPE_CUDA build (make train-gpu on the board); \`train\` is the CPU-only binary`);
      if (opts.cudaHostShim) {
        fs.mkdirSync(path.join(temp, CUDA_HOST_SHIM_DIR));
        write(`${CUDA_HOST_SHIM_DIR}/cuda_runtime.h`, CUDA_HOST_SHIM);
      }
    }
    const cudaOperators = step.gpuNodes.length;
    write('Makefile', makefile(spec.toolchain, spec.cuda, !!spec.cuda));

    const manifest: ExportManifest = {
      format, model: r.model, scheme: r.scheme, target, profile: spec.profile, toolchain: spec.toolchain,
      plan: {
        peakBytes: r.plan.peakBytes, arenaBytes: r.plan.arenaBytes, liveBytesPeak: r.plan.liveBytesPeak, bitPackedMasks: bitPackMasks, inPlaceElementwise: true,
        scratchBytes: step.scratchBytes,
        note: `every tensor at its planned arena offset in one arena (pe_arena); ReLU/Clip masks ${bitPackMasks ? 'bit-packed as planned' : 'not bit-packed (compiled with packing off)'}, in-place updates and elementwise operators as planned; pe_scratch holds GEMM packing panels, reduction accumulators and unread results`,
      },
      step: { operators: r.program.order.length, prologueFolded: r.program.prologue.length, kernelFamilies: step.families, cudaOperators },
      ...(cuda ? { cuda } : {}),
      inputs: inputs.map((t) => ({ name: t.name, file: t.file, dtype: values.get(t.name)!.dtype, dims: t.dims })),
      params: params.map((t) => ({ name: t.name, file: t.file, dims: t.dims })),
      loss: tg.loss.loss,
      tensors: manifestTensors,
      weightsBytes,
    };
    void plannedBy;

    if (format === 'onnx') {
      progress('onnx', 'writing the training step as ONNX');
      write('training_step.onnx', exportOnnxStep(r, values));
    }

    let binary: string | undefined;
    let buildSkipped: string | undefined;
    if (format === 'binary') {
      progress('build', `building with the ${spec.toolchain} toolchain`);
      let tc: Toolchain | undefined;
      try {
        tc = findToolchain(spec.toolchain);
      } catch (e) {
        buildSkipped = (e as Error).message;
        log.push(buildSkipped);
      }
      if (tc) {
        log.push(await buildBinary(tc, temp, opts.optLevel ?? 3, !!opts.native, signal));
        files.push('train');
        binary = path.join(out, 'train');
      }
      if (spec.cuda) {
        progress('cuda', 'compiling CUDA sources with nvcc -c');
        try {
          const nvcc = findToolchain('cuda');
          // CUDA 12.9+ dropped Maxwell (sm_5x): for the Nano, sm_53 PTX is made here with clang; the object is built on the board.
          const listed = await run(nvcc.cc, ['--list-gpu-arch'], { timeout: 60_000 }).then((x) => x.stdout, () => '');
          for (const arch of spec.cuda) {
            if (listed && !listed.includes(`compute_${arch.slice(3)}`)) {
              // clang still targets it: the device half as PTX (codegen/ptx.ts), checked by ptxas; the board's
              // JetPack nvcc builds the object with `make cuda` / `make train-gpu`.
              const ptx = `step_cuda.${arch}.ptx`;
              try {
                const made = await compilePtx(path.join(temp, 'step_cuda.cu'), arch, path.join(temp, ptx), { signal });
                const check = await checkPtx(path.join(temp, ptx), arch, { signal });
                files.push(ptx);
                log.push(made.command, `${ptx}: ${check.entries.length} kernels for ${check.target}, no unresolved calls${check.assembledFor ? `, assembled by ptxas for ${check.assembledFor}` : ''}`);
              } catch (e) {
                throwIfAborted(signal);
                const msg = `this nvcc (${nvcc.cc}) cannot compile for ${arch} and no ${ptx} was made: ${(e as Error).message}; step_cuda.cu builds on the board with \`make cuda\` or \`make train-gpu\` (JetPack's nvcc)`;
                log.push(msg);
                buildSkipped = [buildSkipped, msg].filter(Boolean).join('\n');
              }
              continue;
            }
            const o = `step_cuda.${arch}.o`;
            await run(nvcc.cc, ['-c', `-arch=${arch}`, 'step_cuda.cu', '-o', o], { cwd: temp, timeout: 600_000, signal });
            files.push(o);
            log.push(`${nvcc.cc} -c -arch=${arch} step_cuda.cu`);
          }
        } catch (e) {
          throwIfAborted(signal);
          const msg = (e as { stderr?: string; message: string }).stderr || (e as Error).message;
          log.push(msg);
          buildSkipped = [buildSkipped, msg].filter(Boolean).join('\n');
        }
      }
    }
    write('manifest.json', JSON.stringify(manifest, null, 1));
    progress('commit', `writing ${out}`);
    commitDir(temp, out);
    return { out, files, manifest, binary, buildSkipped, log };
  } catch (e) {
    discardDir(temp);
    throw e;
  }
}
