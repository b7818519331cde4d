// `pockengine compile <model.onnx> --scheme <file|preset> --target <profile> [--json]`: the plan of one
// training step — graphs, schedule after the passes, memory plan with its arena and timeline, backend
// assignment. --json prints the whole CompileReport (schema: docs/compile-report.md). Stable API.

import type { Command } from './index';
import { loadModel } from '../../compiler/loadModel';
import { compile, compileReport, type CompileOptions } from '../../compiler/compile';
import { loadScheme } from '../../compiler/train/options';
import { PASS_NAMES, isPassName, type PassName } from '../../compiler/passes';
import { PROFILE_NAMES } from '../../compiler/backends/profiles';
import { formatBytes } from '../../compiler/inspect';
import type { OptimizerSpec } from '../../compiler/train/optimizer';
import { existingFile, onePositional, parseCommandArgs, UsageError } from '../usage';
import { lossOption } from './grad';

function num(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new UsageError(`--${name} must be a number, got "${v}"`);
  return x;
}

function dimsOption(list: string[] | undefined): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const d of list ?? []) {
    const m = /^([^=]+)=(\d+)$/.exec(d);
    if (!m || Number(m[2]) < 1) throw new UsageError(`--dim wants name=size with size >= 1, got "${d}"`);
    dims[m[1]] = Number(m[2]);
  }
  return dims;
}

export const compileCommand: Command = {
  name: 'compile',
  summary: 'plan a training step: schedule and reordering, memory plan and arena, backend assignment',
  usage: `usage: pockengine compile <model.onnx> [--scheme <file|preset>] [--target <profile>] [--json]
                         [--batchnorm train|frozen] [--optimizer sgd|adam|adamw] [--lr X] [--momentum M]
                         [--loss ce|mse] [--dim name=size ...] [--no-pass <pass> ...] [--no-pack-masks] [--no-in-place] [--pass-savings]

  --scheme <s>      which parameters train: a scheme file or a preset (full, bias-only, last-N,
                    classifier-only); default full
  --target <p>      device profile: ${PROFILE_NAMES.join(', ')} (default host)
  --batchnorm <m>   override the scheme's BatchNorm mode (frozen: running statistics)
  --dim name=size   size of a symbolic input dimension (e.g. --dim batch=1 --dim seq=512); unbound ones count as 1
  --no-pass <p>     switch a pass off: ${PASS_NAMES.join(', ')}
  --no-in-place     give every elementwise result its own memory (no writing over a dying input)
  --pass-savings    also plan the step without each pass, to report what each one saves
  --no-pack-masks   keep ReLU/Clip outputs saved for backward at full size instead of 1 bit per element
  --json            print the whole report as JSON (schema: docs/compile-report.md)`,
  run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      scheme: { type: 'string' }, target: { type: 'string' }, json: { type: 'boolean' }, batchnorm: { type: 'string' },
      optimizer: { type: 'string' }, lr: { type: 'string' }, momentum: { type: 'string' }, loss: { type: 'string' },
      dim: { type: 'string', multiple: true }, 'no-pass': { type: 'string', multiple: true }, 'no-pack-masks': { type: 'boolean' },
      'pass-savings': { type: 'boolean' }, 'no-in-place': { type: 'boolean' },
    });
    const file = existingFile(onePositional(positionals, 'model file (<model.onnx>)'));
    const target = values.target ?? 'host';
    if (!(PROFILE_NAMES as readonly string[]).includes(target)) throw new UsageError(`--target must be one of ${PROFILE_NAMES.join(', ')}, got "${target}"`);
    const passes: Partial<Record<PassName, boolean>> = {};
    for (const p of values['no-pass'] ?? []) {
      if (!isPassName(p)) throw new UsageError(`--no-pass: unknown pass "${p}"; passes are ${PASS_NAMES.join(', ')}`);
      passes[p] = false;
    }
    if (values.batchnorm !== undefined && values.batchnorm !== 'train' && values.batchnorm !== 'frozen') throw new UsageError(`--batchnorm must be train or frozen, got "${values.batchnorm}"`);
    const kind = values.optimizer ?? 'sgd';
    const lr = num(values.lr, 'lr', 0.01);
    let optimizer: OptimizerSpec;
    if (kind === 'sgd') optimizer = { kind, lr, momentum: num(values.momentum, 'momentum', 0) };
    else if (kind === 'adam' || kind === 'adamw') optimizer = { kind, lr };
    else throw new UsageError(`--optimizer must be sgd, adam or adamw, got "${kind}"`);

    const loaded = loadModel(file);
    const scheme = loadScheme(values.scheme ?? 'full', loaded);
    if (values.batchnorm) scheme.batchnorm = values.batchnorm as 'train' | 'frozen';
    const opts: CompileOptions = {
      scheme, target, optimizer, loss: { kind: lossOption(values.loss) }, passes, dims: dimsOption(values.dim),
      bitPackMasks: !values['no-pack-masks'], inPlaceElementwise: !values['no-in-place'], compare: values['pass-savings'] ? 'passes' : 'peaks',
    };
    const r = compile(loaded, opts);
    if (values.json) {
      io.stdout(JSON.stringify(compileReport(r)) + '\n');
      return 0;
    }
    const m = r.memory, g = r.graphs;
    const ratio = (x: number | null) => (x === null ? 'n/a' : `${formatBytes(x)} (${(x / m.peakBytes).toFixed(2)}x)`);
    const lines = [
      `model      ${r.model.path}`,
      `scheme     ${values.scheme ?? 'full'} (batchnorm ${r.scheme.batchnorm}), target ${r.backends.displayName}`,
      `graphs     forward ${g.forward.nodes} ops ${(g.forward.flops / 1e6).toFixed(1)} MFLOP, backward ${g.backward.nodes} ops ${(g.backward.flops / 1e6).toFixed(1)} MFLOP (${g.backward.prunedNodes} pruned), optimizer ${g.optimizer.nodes} ops`,
      `schedule   ${r.schedule.length} steps, ${r.schedule.filter((s) => s.movedBy).length} moved by reordering, ${r.removed.length} removed (dead code, folded)`,
      `memory     peak ${formatBytes(m.peakBytes)} = arena (live-byte lower bound ${formatBytes(m.liveBytesPeak)} at step ${m.peakStep}: ${r.schedule[m.peakStep]?.node ?? '-'})`,
      `           without reordering ${ratio(m.peakBytesNoReorder)}, full update ${ratio(m.peakBytesFullUpdate)}`,
      `           at the peak: ${Object.entries(m.byCategoryAtPeak).map(([c, b]) => `${c} ${formatBytes(b!)}`).join(', ')}`,
      ...r.passes.map((p) => `pass       ${p.name.padEnd(26)} ${p.enabled ? 'on ' : 'off'}  moved ${p.movedNodes}, removed ${p.removedNodes}${p.enabled && p.peakBytesWithout !== null ? `, peak without it ${formatBytes(p.peakBytesWithout)}` : ''}`),
      `backends   est. step ${r.backends.estStepMs.toFixed(2)} ms: ${r.backends.units.map((u) => `${u.unit} ${u.ops} ops ${u.estMs.toFixed(2)} ms`).join(', ')}`,
      `           ${r.backends.method}`,
      ...r.warnings.map((w) => `warning    ${w}`),
    ];
    io.stdout(lines.join('\n') + '\n');
    return 0;
  },
};
