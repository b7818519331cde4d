// `pockengine export <model.onnx> --scheme <file|preset> --target <profile> --format binary|c|onnx --out <dir>`:
// writes the training step for a device (C sources, Makefile, weights, manifest, and the binary `train`
// for --format binary). A missing cross compiler is reported with its apt package; the sources are still
// written. Output is atomic and never replaces an earlier export without --overwrite. docs/export.md.

import type { Command } from './index';
import { existingFile, onePositional, parseCommandArgs, UsageError } from '../usage';
import { EXPORT_TARGETS, exportTraining, type ExportFormat, type ExportTarget } from '../../compiler/export/exportTraining';
import { formatBytes } from '../../compiler/inspect';

export const exportCommand: Command = {
  name: 'export',
  summary: 'export the training step for a device: C sources, Makefile, weights, manifest and binary (or ONNX)',
  usage: `usage: pockengine export <model.onnx> [--scheme <file|preset>] [--target <profile>] [--format binary|c|onnx]
                        [--out <dir>] [--overwrite] [--lr X] [--native] [--dim name=size ...]

  --scheme <s>    which parameters train: a scheme file or a preset (full, bias-only, last-N, classifier-only)
  --target <t>    ${EXPORT_TARGETS.join(', ')} (default host)
  --format <f>    binary (sources and the built binary, default), c (sources only), onnx (the step as ONNX)
  --out <dir>     output folder (default beside the model: <name>-<target>-export)
  --overwrite     replace an earlier export in --out
  --lr X          SGD learning rate baked into the step (default 0.01; the binary's --lr overrides it)
  --native        host only: tune the binary for this CPU (-march=native)`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      scheme: { type: 'string' }, target: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' },
      overwrite: { type: 'boolean' }, lr: { type: 'string' }, native: { type: 'boolean' }, dim: { type: 'string', multiple: true },
    });
    const model = existingFile(onePositional(positionals, 'model file (<model.onnx>)'));
    const target = values.target ?? 'host';
    if (!(EXPORT_TARGETS as readonly string[]).includes(target)) throw new UsageError(`--target must be one of ${EXPORT_TARGETS.join(', ')}, got "${target}"`);
    const format = values.format ?? 'binary';
    if (!['binary', 'c', 'onnx'].includes(format)) throw new UsageError(`--format must be binary, c or onnx, got "${format}"`);
    const lr = values.lr === undefined ? 0.01 : Number(values.lr);
    if (!Number.isFinite(lr) || lr <= 0) throw new UsageError(`--lr must be a positive number, got "${values.lr}"`);
    const dims: Record<string, number> = {};
    for (const d of values.dim ?? []) {
      const m = /^([^=]+)=(\d+)$/.exec(d);
      if (!m) throw new UsageError(`--dim wants name=size, got "${d}"`);
      dims[m[1]] = Number(m[2]);
    }
    const res = await exportTraining(
      { model, scheme: values.scheme, target: target as ExportTarget, format: format as ExportFormat, out: values.out, overwrite: values.overwrite, native: values.native, optimizer: { kind: 'sgd', lr }, dims },
      { onProgress: (p) => io.stderr(`${p.stage}: ${p.message}\n`) },
    );
    const m = res.manifest;
    const lines = [
      `exported ${m.model.name || model} for ${m.target} (${m.step.operators} operators, kernels: ${m.step.kernelFamilies.join(', ')})`,
      `  arena ${formatBytes(m.plan.arenaBytes)} (the plan's peak), scratch ${formatBytes(m.plan.scratchBytes)}, weights ${formatBytes(m.weightsBytes)}`,
      `  ${res.out}: ${res.files.join(', ')}`,
    ];
    if (res.binary) lines.push(`  run: ${res.binary} --data <dir with input_0.pb, labels.pb> --steps N`);
    io.stdout(lines.join('\n') + '\n');
    if (res.buildSkipped) io.stderr(`not built here: ${res.buildSkipped}\n`);
    return 0;
  },
};
