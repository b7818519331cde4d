// PTX for GPUs this machine's nvcc no longer targets. CUDA 12.9+ dropped Maxwell, so the Jetson Nano's
// sm_53 device code cannot come from nvcc 13; clang's CUDA front end still emits PTX for sm_53. Clang 14-16
// cannot parse CUDA 12+'s headers (texture references were removed), so step_cuda.cu is compiled with
// -nocudainc against a small stand-in for <cuda_runtime.h> (the attributes, the runtime calls the
// launchers make, the math functions mapped onto libdevice's __nv_* ones) and libdevice linked in, which
// leaves a PTX with no unresolved call. ptxas then assembles it for the lowest architecture it knows: PTX
// is forward compatible, so a clean assembly proves the sm_53 PTX complete and well formed. The board's
// driver compiles the same PTX for its own GPU.

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ModelError } from '../onnx/errors';
import { which } from './toolchains';

const execFileP = promisify(execFile);

export interface PtxTools {
  /** clang++ (any version with CUDA support: Debian bookworm's clang-14 and later). */
  clang: string;
  /** libdevice.10.bc: the device math library every CUDA toolkit ships. */
  libdevice: string;
  /** ptxas of the CUDA toolkit, for the check; undefined when not installed. */
  ptxas?: string;
}

const CLANGS = ['clang++', 'clang++-19', 'clang++-18', 'clang++-17', 'clang++-16', 'clang++-15', 'clang++-14'];

/** Where toolkits keep libdevice: beside nvcc, /usr/local/cuda, Debian's nvidia-cuda-toolkit. */
function libdeviceCandidates(): string[] {
  const roots: string[] = [];
  const nvcc = which('nvcc');
  if (nvcc) roots.push(path.dirname(path.dirname(fs.realpathSync(nvcc))));
  if (process.env.CUDA_HOME) roots.push(process.env.CUDA_HOME);
  if (process.env.CUDA_PATH) roots.push(process.env.CUDA_PATH);
  roots.push('/usr/local/cuda', '/usr/lib/cuda');
  return [...roots.map((r) => path.join(r, 'nvvm', 'libdevice', 'libdevice.10.bc')), '/usr/lib/nvidia-cuda-toolkit/libdevice/libdevice.10.bc'];
}

/** clang++, libdevice and ptxas; a ModelError naming what to install when clang or libdevice is missing. */
export function findPtxTools(): PtxTools {
  const clang = CLANGS.map(which).find((p): p is string => !!p);
  if (!clang) throw new ModelError('no clang++ found to compile step_cuda.cu to PTX for a GPU this nvcc no longer targets: install it with `apt-get install clang`');
  const libdevice = libdeviceCandidates().find((p) => fs.existsSync(p));
  if (!libdevice) throw new ModelError(`no libdevice.10.bc found (looked in ${libdeviceCandidates().join(', ')}): it comes with the CUDA toolkit (nvcc); set CUDA_HOME to its folder`);
  const ptxas = which('ptxas') ?? (which('nvcc') ? [path.join(path.dirname(fs.realpathSync(which('nvcc')!)), 'ptxas')].find((p) => fs.existsSync(p)) : undefined);
  return { clang, libdevice, ptxas };
}

const F1 = ['expf', 'exp2f', 'expm1f', 'logf', 'log2f', 'log10f', 'log1pf', 'sqrtf', 'rsqrtf', 'cbrtf', 'sinf', 'cosf', 'tanf', 'tanhf', 'asinf', 'acosf', 'atanf', 'erff', 'erfcf', 'fabsf', 'floorf', 'ceilf', 'roundf', 'truncf', 'rintf'];
const F2 = ['powf', 'fmaxf', 'fminf', 'fmodf', 'atan2f'];
const D1 = ['exp', 'exp2', 'expm1', 'log', 'log2', 'log10', 'log1p', 'sqrt', 'rsqrt', 'sin', 'cos', 'tan', 'tanh', 'erf', 'erfc', 'fabs', 'floor', 'ceil', 'round', 'trunc'];
const D2 = ['pow', 'fmax', 'fmin', 'fmod', 'atan2'];

/**
 * The <cuda_runtime.h> that step_cuda.cu includes when clang compiles its device half: the execution-space
 * attributes, the built-in index variables (clang's own header), declarations of the runtime calls the
 * launchers make (their host code is parsed, not emitted) and device overloads of the C math functions that
 * call libdevice. A launcher using a runtime call not declared here fails to compile, naming it.
 */
export function cudaDevicePrelude(): string {
  const m = (ret: string, name: string, arity: 1 | 2): string => {
    const ps = arity === 1 ? `${ret} x` : `${ret} x, ${ret} y`;
    const as = arity === 1 ? 'x' : 'x, y';
    return `extern "C" __device__ ${ret} __nv_${name}(${ps}); __device__ static inline ${ret} ${name}(${ps}) { return __nv_${name}(${as}); }`;
  };
  return [
    '/* Stand-in for <cuda_runtime.h> when clang compiles step_cuda.cu to PTX (codegen/ptx.ts): device code only. */',
    '#pragma once',
    '#include <stddef.h>',
    '#define __host__ __attribute__((host))',
    '#define __device__ __attribute__((device))',
    '#define __global__ __attribute__((global))',
    '#define __shared__ __attribute__((shared))',
    '#define __constant__ __attribute__((constant))',
    '#define __forceinline__ __inline__ __attribute__((always_inline))',
    '#include <__clang_cuda_builtin_vars.h>',
    'struct dim3 { unsigned x, y, z; __host__ __device__ dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {} };',
    'typedef int cudaError_t;',
    'enum { cudaSuccess = 0 };',
    'enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3, cudaMemcpyDefault = 4 };',
    'enum { cudaMemAttachGlobal = 1 };',
    'typedef struct CUstream_st *cudaStream_t;',
    'extern "C" {',
    'cudaError_t cudaMalloc(void **p, size_t n);',
    'cudaError_t cudaMallocManaged(void **p, size_t n, unsigned flags);',
    'cudaError_t cudaFree(void *p);',
    'cudaError_t cudaDeviceSynchronize(void);',
    'cudaError_t cudaGetLastError(void);',
    'const char *cudaGetErrorString(cudaError_t e);',
    'cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind k);',
    'cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind k, cudaStream_t st);',
    'cudaError_t cudaMemset(void *d, int v, size_t n);',
    'cudaError_t cudaMemsetAsync(void *d, int v, size_t n, cudaStream_t st);',
    '/* What <<<...>>> calls: the first name for CUDA 9.2 and later, the second before. */',
    'unsigned __cudaPushCallConfiguration(dim3 g, dim3 b, size_t shmem = 0, void *stream = 0);',
    'cudaError_t cudaConfigureCall(dim3 g, dim3 b, size_t shmem = 0, cudaStream_t stream = 0);',
    '}',
    'template <class T> static inline cudaError_t cudaMalloc(T **p, size_t n) { return cudaMalloc((void **)p, n); }',
    'template <class T> static inline cudaError_t cudaMallocManaged(T **p, size_t n, unsigned f = cudaMemAttachGlobal) { return cudaMallocManaged((void **)p, n, f); }',
    '#include <math.h>',
    ...F1.map((f) => m('float', f, 1)),
    ...F2.map((f) => m('float', f, 2)),
    ...D1.map((f) => m('double', f, 1)),
    ...D2.map((f) => m('double', f, 2)),
    '',
  ].join('\n');
}

export interface PtxOptions {
  tools?: PtxTools;
  signal?: AbortSignal;
  /** Milliseconds per tool run (default 10 minutes). */
  timeoutMs?: number;
}

/** The clang command line that compiles `cu` to `ptx` for `arch` with the prelude in `includeDir`. */
export function clangPtxArgs(cu: string, arch: string, ptx: string, includeDir: string, libdevice: string): string[] {
  return [
    '-x', 'cuda', `--cuda-gpu-arch=${arch}`, '--cuda-device-only', '-S', '-O3',
    // No CUDA headers or libraries of the installed toolkit: the prelude and libdevice replace them, and
    // pointing --cuda-path at the prelude keeps clang from judging the toolkit's version.
    '-nocudainc', '-nocudalib', `--cuda-path=${includeDir}`, `-I${includeDir}`,
    '-Xclang', '-mlink-builtin-bitcode', '-Xclang', libdevice,
    cu, '-o', ptx,
  ];
}

export interface PtxCompiled {
  ptx: string;
  /** The command that made it, for the export's log. */
  command: string;
}

/** Compiles the device half of step_cuda.cu (`cu`) to PTX for `arch` (e.g. sm_53), written to `ptx`. */
export async function compilePtx(cu: string, arch: string, ptx: string, opts: PtxOptions = {}): Promise<PtxCompiled> {
  if (!/^sm_\d+$/.test(arch)) throw new ModelError(`CUDA architecture "${arch}" is not of the form sm_<number> (e.g. sm_53)`);
  const tools = opts.tools ?? findPtxTools();
  const inc = fs.mkdtempSync(path.join(os.tmpdir(), 'pe-ptx-'));
  try {
    fs.writeFileSync(path.join(inc, 'cuda_runtime.h'), cudaDevicePrelude());
    // Run beside the source so the command (logged) names the files as the export folder has them.
    const cwd = path.dirname(path.resolve(cu));
    const args = clangPtxArgs(path.basename(cu), arch, path.relative(cwd, path.resolve(ptx)), inc, tools.libdevice);
    try {
      await execFileP(tools.clang, args, { cwd, timeout: opts.timeoutMs ?? 600_000, signal: opts.signal, maxBuffer: 64 << 20 });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      const err = (e as { stderr?: string }).stderr || (e as Error).message;
      throw new ModelError(`${path.basename(tools.clang)} could not compile ${path.basename(cu)} to PTX for ${arch}:\n${err.trim()}`);
    }
    return { ptx, command: `${tools.clang} ${args.map((a) => a.replace(inc, '<prelude>')).join(' ')}` };
  } finally {
    fs.rmSync(inc, { recursive: true, force: true });
  }
}

export interface PtxCheck {
  /** The PTX's `.target` and `.version`. */
  target: string;
  version: string;
  /** The kernels (`.entry`) it defines, in order. */
  entries: string[];
  /** Functions it calls but does not define (`.extern .func`): empty for a complete PTX. */
  externs: string[];
  /** The architecture ptxas assembled it for, and the cubin's size; undefined without ptxas. */
  assembledFor?: string;
  cubinBytes?: number;
}

/** What a PTX text declares: target, version, kernels and unresolved functions. */
export function readPtx(text: string): Omit<PtxCheck, 'assembledFor' | 'cubinBytes'> {
  return {
    target: /^\s*\.target\s+(\S+)/m.exec(text)?.[1] ?? '',
    version: /^\s*\.version\s+(\S+)/m.exec(text)?.[1] ?? '',
    entries: [...text.matchAll(/\.entry\s+([A-Za-z_$][\w$]*)/g)].map((x) => x[1]),
    externs: [...text.matchAll(/\.extern\s+\.func\s*(?:\([^)]*\)\s*)?([A-Za-z_$][\w$]*)/g)].map((x) => x[1]),
  };
}

/**
 * Checks a PTX for `arch`: its .target, no unresolved function, and ptxas assembling it for `assembleFor`
 * (default sm_75, the oldest architecture CUDA 13 keeps). A ModelError says what is wrong.
 */
export async function checkPtx(ptx: string, arch: string, opts: PtxOptions & { assembleFor?: string } = {}): Promise<PtxCheck> {
  const info = readPtx(fs.readFileSync(ptx, 'utf8'));
  if (info.target !== arch) throw new ModelError(`${path.basename(ptx)} targets "${info.target}", not ${arch}`);
  if (info.externs.length) throw new ModelError(`${path.basename(ptx)} calls functions it does not define (${info.externs.join(', ')}): map them onto libdevice in codegen/ptx.ts's prelude`);
  const ptxas = (opts.tools ?? findPtxTools()).ptxas;
  if (!ptxas) return info;
  const assembleFor = opts.assembleFor ?? 'sm_75';
  const cubin = `${ptx}.${assembleFor}.cubin`;
  try {
    await execFileP(ptxas, [`-arch=${assembleFor}`, ptx, '-o', cubin], { timeout: opts.timeoutMs ?? 600_000, signal: opts.signal, maxBuffer: 64 << 20 });
    return { ...info, assembledFor: assembleFor, cubinBytes: fs.statSync(cubin).size };
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    const err = (e as { stderr?: string }).stderr || (e as Error).message;
    throw new ModelError(`ptxas -arch=${assembleFor} rejected ${path.basename(ptx)}:\n${err.trim()}`);
  } finally {
    fs.rmSync(cubin, { force: true });
  }
}
