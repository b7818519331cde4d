// GFLOP/s of the C kernel library's GEMM and convolutions (host build, -O3 -march=native, OpenMP) against
// OpenBLAS cblas_sgemm on the same shapes in the same run. Convolutions are compared as im2col + GEMM
// with OpenBLAS doing the GEMM (depthwise has no BLAS form: its GFLOP/s is printed alone). The two
// libraries run in separate processes, alternately, so neither's idle threads slow the other; the best
// of the rounds is kept. Goal (issue 6): at least half of OpenBLAS (about 85 GFLOP/s at n=1024 on 2 threads).
// Run: `npm run bench -- ckernels` (or `node --import tsx bench/ckernels.bench.ts [--threads T]`); it prints
// one table for 1 thread and one for T (default: up to 2).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { emitKernels } from '../src/compiler/codegen/kernels';
import { conv2dInit, conv2dWorkspace, isDepthwise, isPointwise, type Conv2dParams } from '../src/compiler/codegen/kernels/conv';
import { gemmWorkspace } from '../src/compiler/codegen/kernels/gemm';
import { buildC, runC } from '../src/compiler/codegen/cprogram';
import { findToolchain } from '../src/compiler/codegen/toolchains';

const argv = process.argv.slice(2);
const maxThreads = Number(argv[argv.indexOf('--threads') + 1] || 0) || Math.min(2, os.cpus().length);
// One thread too: on a shared, oversubscribed machine the multi-threaded figures of both libraries swing
// with the scheduler, and the one-thread ratio is the steadier comparison.
const threadCounts = [...new Set([1, maxThreads])];
const rounds = Number(process.env.PE_BENCH_ROUNDS ?? 3);

const gemms = [256, 512, 1024];

function conv(name: string, C: number, H: number, M: number, k: number, s: number, group = 1): [string, Conv2dParams] {
  const pad = (k - 1) >> 1;
  const O = Math.floor((H + 2 * pad - k) / s) + 1;
  return [name, { N: 1, C, H, W: H, M, KH: k, KW: k, OH: O, OW: O, sh: s, sw: s, ph: pad, pw: pad, dh: 1, dw: 1, group }];
}
// MobileNetV2 at 224×224 (batch 1): the stem, an expansion, a depthwise and a projection layer, plus a
// ResNet-style 3×3.
const convs: [string, Conv2dParams][] = [
  conv('mbv2 stem 3->32 3x3 s2 @224', 3, 224, 32, 3, 2),
  conv('mbv2 expand 24->144 1x1 @56', 24, 56, 144, 1, 1),
  conv('mbv2 dw 144 3x3 s2 @56', 144, 56, 144, 3, 2, 144),
  conv('mbv2 project 144->24 1x1 @56', 144, 56, 24, 1, 1),
  conv('mbv2 expand 96->576 1x1 @14', 96, 14, 576, 1, 1),
  conv('3x3 64->64 @56', 64, 56, 64, 3, 1),
];

const convFlops = (p: Conv2dParams): number => 2 * p.N * p.M * p.OH * p.OW * (p.C / p.group) * p.KH * p.KW;

function program(): string {
  const maxWs = Math.max(gemmWorkspace(), ...convs.map(([, p]) => conv2dWorkspace(p)));
  const gemmRuns = gemms.map((n) => `  bench_gemm(blas, ${n});`).join('\n');
  const convRuns = convs.map(([name, p], i) => `  { static const pe_conv2d_t p${i} = ${conv2dInit(p)}; bench_conv(blas, "${name}", &p${i}, ${isPointwise(p) ? 1 : 0}, ${isDepthwise(p) ? 1 : 0}, ${convFlops(p)}.0); }`).join('\n');
  return `${emitKernels(['conv2d'])}
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cblas.h>
char *openblas_get_corename(void);
static float *ws;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static float *rnd(size_t n) { float *p = malloc(n * sizeof(float)); for (size_t i = 0; i < n; i++) p[i] = (float)rand() / RAND_MAX - 0.5f; return p; }
/* Best time of reps runs after one warm-up. */
#define TIME(reps, stmt) ({ stmt; double best = 1e30; for (int r = 0; r < (reps); r++) { double t0 = now(); stmt; double t = now() - t0; if (t < best) best = t; } best; })
static void bench_gemm(int blas, int n) {
  float *a = rnd((size_t)n * n), *b = rnd((size_t)n * n), *c = rnd((size_t)n * n);
  int reps = n >= 1024 ? 5 : 20;
  double t = blas ? TIME(reps, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n))
                  : TIME(reps, pe_sgemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n, ws));
  printf("gemm n=%d\\t%.2f\\n", n, 2.0 * n * n * n / t / 1e9);
  free(a); free(b); free(c);
}
static void bench_conv(int blas, const char *name, const pe_conv2d_t *p, int pointwise, int depthwise, double flops) {
  size_t inS = (size_t)p->H * p->W, outS = (size_t)p->OH * p->OW;
  int Cg = p->C / p->group, Mg = p->M / p->group, Kd = Cg * p->KH * p->KW;
  float *x = rnd((size_t)p->N * p->C * inS), *w = rnd((size_t)p->M * Kd), *y = rnd((size_t)p->N * p->M * outS);
  double t;
  if (!blas) t = TIME(20, pe_conv2d(p, x, w, NULL, y, ws));
  else if (depthwise) { printf("conv %s\\t-\\n", name); free(x); free(w); free(y); return; }
  else t = TIME(20, ({ for (int n = 0; n < p->N; n++) for (int g = 0; g < p->group; g++) {
        const float *B = x + ((size_t)n * p->C + (size_t)g * Cg) * inS;
        if (!pointwise) { pe_im2col(B, Cg, p, ws); B = ws; }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Mg, (int)outS, Kd, 1.0f, w + (size_t)g * Mg * Kd, Kd, B, (int)outS, 0.0f, y + ((size_t)n * p->M + (size_t)g * Mg) * outS, (int)outS); } }));
  printf("conv %s\\t%.2f\\n", name, flops / t / 1e9);
  free(x); free(w); free(y);
}
int main(int argc, char **argv) {
  int blas = argc > 1 && argv[1][0] == 'b';
  ws = calloc(${maxWs} + 16, sizeof(float));
  if (blas) { openblas_set_num_threads(argc > 2 ? atoi(argv[2]) : 1); printf("openblas core\\t%s\\n", openblas_get_corename()); }
${gemmRuns}
${convRuns}
  return 0;
}
`;
}

async function main(): Promise<void> {
  const tc = findToolchain('host', { native: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pe-bench-ck-'));
  if (process.env.PE_BENCH_KEEP) console.log(`sources kept in ${dir}`);
  try {
    let exe: string;
    try {
      exe = await buildC(tc, dir, 'ckbench', program(), { libs: ['-lopenblas'] });
    } catch (e) {
      console.log(`cannot build against OpenBLAS (install it with \`apt-get install libopenblas-dev\`):\n${(e as Error).message}`);
      process.exitCode = 1;
      return;
    }
    // Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to its SSE3 'Prescott'
    // kernels (measured here: about a third of its AVX-512 speed); name the kernel set the CPU supports so
    // the comparison is with OpenBLAS at its best. An OPENBLAS_CORETYPE already set is kept.
    const flags = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
    const coretype = process.env.OPENBLAS_CORETYPE ?? (/\bavx512f\b/.test(flags) ? 'SkylakeX' : /\bavx2\b/.test(flags) ? 'Haswell' : undefined);
    for (const threads of threadCounts) {
      const best = { pe: new Map<string, number>(), blas: new Map<string, number>() };
      let core = '?';
      const env = { OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), ...(coretype ? { OPENBLAS_CORETYPE: coretype } : {}) };
      for (let r = 0; r < rounds; r++) {
        for (const mode of ['pe', 'blas'] as const) {
          const out = await runC(tc, exe, [mode, String(threads)], { env, timeoutMs: 300_000 });
          for (const line of out.trim().split('\n')) {
            const [name, v] = line.split('\t');
            if (name === 'openblas core') core = v;
            if (v === '-' || name === 'openblas core') continue;
            best[mode].set(name, Math.max(best[mode].get(name) ?? 0, Number(v)));
          }
        }
      }
      console.log(`\nC kernels (${path.basename(tc.cc)} ${tc.cflags.join(' ')}) vs OpenBLAS cblas_sgemm (${core} kernels), ${threads} thread${threads > 1 ? 's' : ''}, best of ${rounds} rounds; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
      console.log(`${'shape'.padEnd(36)} ${'pe GFLOP/s'.padStart(11)} ${'OpenBLAS'.padStart(9)} ${'ratio'.padStart(6)}`);
      for (const [name, v] of best.pe) {
        const b = best.blas.get(name);
        console.log(`${name.padEnd(36)} ${v.toFixed(1).padStart(11)} ${(b ? b.toFixed(1) : '-').padStart(9)} ${(b ? (v / b).toFixed(2) : '-').padStart(6)}`);
      }
      const r1024 = (best.pe.get('gemm n=1024') ?? 0) / (best.blas.get('gemm n=1024') ?? Infinity);
      console.log(`goal (${threads} thread${threads > 1 ? 's' : ''}): GEMM n=1024 at least 0.5x OpenBLAS -> ${r1024.toFixed(2)}x ${r1024 >= 0.5 ? 'met' : 'NOT met'}`);
    }
  } finally {
    if (!process.env.PE_BENCH_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
