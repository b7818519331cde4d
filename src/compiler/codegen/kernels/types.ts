// A C kernel family as the code generator emits it: C99 source text (no allocation; every buffer, scratch
// included, is passed in) and the families it needs first. Kept as TypeScript strings so that esbuild
// bundles them with the CLI and the extension, with no separate build step.

export interface CKernel {
  /** Family name, e.g. 'gemm', 'conv2d'. */
  name: string;
  /** Families whose definitions this source uses (emitted before it). */
  deps: string[];
  /** C99 source: static (internal-linkage) helpers and `pe_`-prefixed functions. */
  source: string;
}
