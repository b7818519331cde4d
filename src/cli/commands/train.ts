// `pockengine train <model.onnx> --data <dir> --steps N --optimizer sgd|adam|adamw --lr X --out <dir>`:
// N optimizer steps on one batch in the reference runtime; prints {"step":k,"loss":x} per step (the loss
// of that step's forward, k from 1) and writes the updated trainable parameters as .pb. Stable API.

import type { Command } from './index';
import { loadModel } from '../../compiler/loadModel';
import { TrainingSession } from '../../compiler/train/session';
import { readBatch, writeTensors } from '../../compiler/train/data';
import { compileTrainingStep } from '../../compiler/train/options';
import type { OptimizerSpec } from '../../compiler/train/optimizer';
import { existingFile, intOption, onePositional, parseCommandArgs, UsageError } from '../usage';
import { lossOption, reportIssues } from './grad';

function num(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new UsageError(`--${name} must be a number, got "${v}"`);
  return x;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train on a batch for N steps (compiled forward, backward and optimizer in the reference runtime)',
  usage: `usage: pockengine train <model.onnx> --data <dir> --steps N --optimizer sgd|adam|adamw --lr X --out <dir>
                       [--momentum M] [--dampening D] [--nesterov] [--weight-decay W] [--scheme <file|preset>] [--loss ce|mse]

  Prints one JSON line per step, {"step":k,"loss":x} (k = 1..N, x = that step's forward loss), and writes
  the updated trainable parameters to --out as <parameter>.pb. Optimizers follow torch.optim: sgd
  (momentum, dampening, nesterov, weight decay), adam (weight decay added to the gradient), adamw
  (decoupled weight decay, default 0.01).`,
  run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      data: { type: 'string' }, out: { type: 'string' }, steps: { type: 'string' }, optimizer: { type: 'string' }, lr: { type: 'string' },
      momentum: { type: 'string' }, dampening: { type: 'string' }, nesterov: { type: 'boolean' }, 'weight-decay': { type: 'string' },
      scheme: { type: 'string' }, loss: { type: 'string' },
    });
    const file = existingFile(onePositional(positionals, 'model file (<model.onnx>)'));
    if (!values.data) throw new UsageError('--data <dir> is required');
    if (!values.out) throw new UsageError('--out <dir> is required');
    const steps = intOption(values.steps, 'steps', 1);
    const kind = values.optimizer ?? 'sgd';
    const lr = num(values.lr, 'lr', kind === 'sgd' ? 0.01 : 0.001);
    let optimizer: OptimizerSpec;
    if (kind === 'sgd') {
      optimizer = { kind, lr, momentum: num(values.momentum, 'momentum', 0), dampening: num(values.dampening, 'dampening', 0), nesterov: !!values.nesterov, weightDecay: num(values['weight-decay'], 'weight-decay', 0) };
    } else if (kind === 'adam' || kind === 'adamw') {
      optimizer = { kind, lr, weightDecay: values['weight-decay'] === undefined ? undefined : num(values['weight-decay'], 'weight-decay', 0) };
    } else throw new UsageError(`--optimizer must be sgd, adam or adamw, got "${kind}"`);
    const loaded = loadModel(file);
    const tg = compileTrainingStep(loaded, { scheme: values.scheme, loss: lossOption(values.loss), optimizer });
    reportIssues(tg.issues, io);
    const feeds = readBatch(values.data, tg);
    const session = new TrainingSession(tg);
    for (let k = 1; k <= steps; k++) io.stdout(JSON.stringify({ step: k, loss: session.step(feeds) }) + '\n');
    writeTensors(values.out, session.params);
    return tg.issues.length ? 1 : 0;
  },
};

export async function run(args: string[]): Promise<number> {
  return trainCommand.run(args, { stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t) });
}
