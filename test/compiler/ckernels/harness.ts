// The C side of the kernel tests: a case names its input arrays, output arrays with the oracle's values,
// the workspace it needs and the C statements that call the kernels; programFor() turns a list of cases
// into one C program whose main(dir) loads every input from dir, runs each case and saves the outputs.

import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../../src/compiler/runtime';
import '../../../src/compiler/runtime/grad';
import { findKernel } from '../../../src/compiler/runtime/kernel';
import type { AttrValue, Node } from '../../../src/compiler/ir/graph';
import type { Tensor } from '../../../src/compiler/ir/tensor';

export type Arr = Float32Array | BigInt64Array | Uint8Array;

export interface COutput {
  /** The oracle's values. */
  expect: Float32Array;
  /** Initial contents (in-place kernels); zeros when absent. */
  init?: Float32Array;
  /** Compare only the first `prefix` elements (a sparse kernel leaves the rest untouched). */
  prefix?: number;
}

export interface CCase {
  name: string;
  inputs: Record<string, Arr>;
  outputs: Record<string, COutput>;
  /** Workspace floats (`ws` in the C code). */
  ws?: number;
  /** C statements; inputs and outputs are pointers named as in the records, plus `ws`. */
  code: string;
}

let seed = 1;
export function reseed(s: number): void {
  seed = s >>> 0;
}
/** Deterministic uniform in [0, 1) (mulberry32). */
export function rand(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
export const size = (dims: number[]): number => dims.reduce((p, d) => p * d, 1);
export function U(dims: number[], lo = -1, hi = 1): Tensor {
  return { dtype: 'float32', dims: dims.slice(), data: Float32Array.from({ length: size(dims) }, () => lo + (hi - lo) * rand()) };
}
export function I64(vals: number[], dims = [vals.length]): Tensor {
  return { dtype: 'int64', dims, data: BigInt64Array.from(vals.map(BigInt)) };
}
export const f32 = (t: Tensor): Float32Array => t.data as Float32Array;

/** Runs the reference runtime's kernel for one node. */
export function oracle(op: string, inputs: (Tensor | undefined)[], attrs: Record<string, AttrValue> = {}, opts: { domain?: string; outputs?: number; opset?: number } = {}): Tensor[] {
  const domain = opts.domain ?? '';
  const k = findKernel(op, domain);
  if (!k) throw new Error(`no reference kernel for ${domain}::${op}`);
  const node: Node = {
    id: op, name: op, opType: op, domain, layer: '', attrs,
    inputs: inputs.map((t, i) => (t ? `in${i}` : '')),
    outputs: Array.from({ length: opts.outputs ?? 1 }, (_, i) => `out${i}`),
  };
  return k(inputs, node, { opset: opts.opset ?? 17 });
}

const cType = (a: Arr): string => (a instanceof BigInt64Array ? 'int64_t' : a instanceof Uint8Array ? 'uint8_t' : 'float');
const file = (c: number, name: string): string => `c${c}_${name}.bin`;

export function writeInputs(dir: string, cases: CCase[]): void {
  cases.forEach((c, i) => {
    for (const [name, a] of Object.entries(c.inputs)) fs.writeFileSync(path.join(dir, file(i, name)), Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    for (const [name, o] of Object.entries(c.outputs)) {
      if (o.init) fs.writeFileSync(path.join(dir, file(i, `${name}.init`)), Buffer.from(o.init.buffer, o.init.byteOffset, o.init.byteLength));
    }
  });
}

export function programFor(cases: CCase[]): string {
  const body = cases.map((c, i) => {
    const lines: string[] = [`/* ${c.name} */`, `static void case_${i}(const char *dir) {`];
    for (const [name, a] of Object.entries(c.inputs)) lines.push(`  ${cType(a)} *${name} = (${cType(a)} *)pe_t_load(dir, "${file(i, name)}", ${a.byteLength});`);
    for (const [name, o] of Object.entries(c.outputs)) {
      const bytes = o.expect.length * 4;
      lines.push(o.init ? `  float *${name} = (float *)pe_t_load(dir, "${file(i, `${name}.init`)}", ${bytes});` : `  float *${name} = (float *)calloc(${o.expect.length} + 1, sizeof(float));`);
    }
    lines.push(`  float *ws = (float *)calloc(${(c.ws ?? 0) + 16}, sizeof(float));`);
    lines.push(`  (void)ws;`, `  { ${c.code} }`);
    for (const [name, o] of Object.entries(c.outputs)) lines.push(`  pe_t_save(dir, "${file(i, `${name}.out`)}", ${name}, ${o.expect.length * 4});`);
    for (const name of [...Object.keys(c.inputs), ...Object.keys(c.outputs), 'ws']) lines.push(`  free(${name});`);
    lines.push('}');
    return lines.join('\n');
  });
  return `#include <stdio.h>
#include <stdlib.h>
static void *pe_t_load(const char *dir, const char *name, size_t bytes) {
  char p[4096]; snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "rb"); if (!f) { perror(p); exit(2); }
  void *d = malloc(bytes + 16);
  if (fread(d, 1, bytes, f) != bytes) { fprintf(stderr, "%s: short read\\n", p); exit(2); }
  fclose(f); return d;
}
static void pe_t_save(const char *dir, const char *name, const void *d, size_t bytes) {
  char p[4096]; snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb"); if (!f || fwrite(d, 1, bytes, f) != bytes) { perror(p); exit(2); }
  fclose(f);
}
${body.join('\n')}
int main(int argc, char **argv) {
  if (argc < 2) return 2;
${cases.map((_, i) => `  case_${i}(argv[1]);`).join('\n')}
  return 0;
}
`;
}

/** Compares every output with the oracle; throws on the first beyond tol, else returns the worst error. */
export function compareOutputs(dir: string, cases: CCase[], tol: number): { err: number; where: string } {
  let worst = { err: 0, where: '-' };
  cases.forEach((c, i) => {
    for (const [name, o] of Object.entries(c.outputs)) {
      const buf = fs.readFileSync(path.join(dir, file(i, `${name}.out`)));
      const got = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
      const n = o.prefix ?? o.expect.length;
      let scale = 0, diff = 0, at = -1;
      for (let k = 0; k < n; k++) scale = Math.max(scale, Math.abs(o.expect[k]));
      for (let k = 0; k < n; k++) {
        const d = Math.abs(got[k] - o.expect[k]);
        if (!(d <= diff)) { diff = d; at = k; }
      }
      const err = scale > 0 ? diff / scale : diff;
      if (!(err <= tol)) {
        throw new Error(`${c.name}: output ${name}[${at}] = ${got[at]}, the reference runtime gives ${o.expect[at]} (relative error ${err.toExponential(2)} > ${tol}, scale ${scale})`);
      }
      if (err >= worst.err) worst = { err, where: `${c.name}.${name}` };
    }
  });
  return worst;
}

/** A C float literal for v (1 -> 1.0f, 0.25 -> 0.25f, 1e-8 -> 1e-08f). */
export function cf(v: number): string {
  if (v === Infinity) return 'INFINITY';
  if (v === -Infinity) return '-INFINITY';
  const s = String(v);
  return /[.eE]/.test(s) ? `${s}f` : `${s}.0f`;
}
