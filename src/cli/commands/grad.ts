// `pockengine grad <model.onnx> --data <dir> --out <dir> [--scheme <file|preset>] [--loss ce|mse]`:
// one forward + backward on a batch in the reference runtime; writes one .pb per trainable parameter's
// gradient (named by the parameter's initializer name) and loss.json {"loss": x}. Stable API.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command, CommandIO } from './index';
import { loadModel } from '../../compiler/loadModel';
import { computeGradients } from '../../compiler/train/session';
import { readBatch, writeTensors } from '../../compiler/train/data';
import { compileTrainingStep } from '../../compiler/train/options';
import type { LossKind } from '../../compiler/train/loss';
import type { GradIssue } from '../../compiler/train/autodiff';
import { existingFile, onePositional, parseCommandArgs, UsageError } from '../usage';

export function lossOption(v: string | undefined): LossKind {
  if (v === undefined || v === 'ce' || v === 'cross_entropy') return 'cross_entropy';
  if (v === 'mse') return 'mse';
  throw new UsageError(`--loss must be ce or mse, got "${v}"`);
}

export function reportIssues(issues: GradIssue[], io: CommandIO): void {
  for (const i of issues) io.stderr(`error: ${i.message}\n`);
  if (issues.length) io.stderr('the rest of the model was compiled; the parameters above are left out of the gradients.\n');
}

export const gradCommand: Command = {
  name: 'grad',
  summary: 'loss and parameter gradients of one batch (forward + compiled backward in the reference runtime)',
  usage: `usage: pockengine grad <model.onnx> --data <dir> --out <dir> [--scheme <file|preset>] [--loss ce|mse]

  --data <dir>     input_0.pb (input_K.pb for further model inputs) and labels.pb, ONNX TensorProto files
  --out <dir>      receives <parameter>.pb per trainable parameter (characters outside [A-Za-z0-9._-]
                   replaced by _) and loss.json {"loss": <number>}
  --scheme <s>     which parameters train: a scheme file or a preset (full, bias-only, last-N, classifier-only)
  --loss <kind>    ce: mean softmax cross-entropy over the first output, class axis last (default); mse
  Exit code 1 when an operator without a gradient rule leaves some parameters without a gradient (the
  others are still written).`,
  run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { data: { type: 'string' }, out: { type: 'string' }, scheme: { type: 'string' }, loss: { type: 'string' } });
    const file = existingFile(onePositional(positionals, 'model file (<model.onnx>)'));
    if (!values.data) throw new UsageError('--data <dir> is required');
    if (!values.out) throw new UsageError('--out <dir> is required');
    const loaded = loadModel(file);
    const tg = compileTrainingStep(loaded, { scheme: values.scheme, loss: lossOption(values.loss) });
    reportIssues(tg.issues, io);
    const feeds = readBatch(values.data, tg);
    const { loss, grads } = computeGradients(tg, feeds);
    writeTensors(values.out, grads);
    fs.writeFileSync(path.join(values.out, 'loss.json'), JSON.stringify({ loss }) + '\n');
    io.stdout(`loss ${loss}\nwrote ${grads.size} gradients to ${values.out}\n`);
    return tg.issues.length ? 1 : 0;
  },
};

export async function run(args: string[]): Promise<number> {
  return gradCommand.run(args, { stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t) });
}
