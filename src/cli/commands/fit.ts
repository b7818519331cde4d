// `pockengine fit <model.onnx> --data <dir> --budget <bytes|MB|GB> [--target <profile>] --out <scheme.json>
//  [--method measured|gradnorm] [--curve <file.json>]`: contribution analysis on the batch (cached beside
// the model), then the scheme with the highest contribution whose planned peak fits the budget. Writes the
// scheme in the stable scheme format and prints a summary (docs/fit.md).

import * as fs from 'node:fs';
import type { Command } from './index';
import { loadModel } from '../../compiler/loadModel';
import { fitToBudget, parseBytes } from '../../compiler/fit/fit';
import { serializeScheme } from '../../compiler/sparse/scheme';
import { ModelError } from '../../compiler/onnx/errors';
import { existingFile, intOption, onePositional, parseCommandArgs, UsageError } from '../usage';
import { lossOption } from './grad';

const mb = (b: number): string => `${(b / 1e6).toFixed(3)} MB`;

export const fitCommand: Command = {
  name: 'fit',
  summary: 'choose the layers and channels to update that help most within a peak-memory budget',
  usage: `usage: pockengine fit <model.onnx> --data <dir> --out <scheme.json> [--budget <bytes|MB|GB>] [--target <profile>]
                     [--method measured|gradnorm] [--curve <file.json>] [--points N] [--steps N] [--lr X]
                     [--batchnorm train|frozen] [--loss ce|mse] [--no-cache]

  Scores every layer's update options (bias, channels 1/8 1/4 1/2, full) on the batch in --data
  (input_K.pb, labels.pb): measured = loss drop after --steps SGD steps (default 3, --lr 0.01) updating only
  that option; gradnorm = lr * squared gradient norm of the option from one backward pass (the default
  above 50,000 parameters). Scores are cached in <model.onnx>.pockengine-contrib.json. Then searches the
  scheme with the highest total score whose peak planned by the compiler fits --budget (default: the
  --target profile's memory; MB/GB = 10^6/10^9 bytes, MiB/GiB = 2^20/2^30) and writes it to --out.
  --curve writes the budget-versus-contribution curve (--points budgets, default 8) as JSON.`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      data: { type: 'string' }, out: { type: 'string' }, budget: { type: 'string' }, target: { type: 'string' },
      method: { type: 'string' }, curve: { type: 'string' }, points: { type: 'string' }, steps: { type: 'string' },
      lr: { type: 'string' }, batchnorm: { type: 'string' }, loss: { type: 'string' }, 'no-cache': { type: 'boolean' },
    });
    const file = existingFile(onePositional(positionals, 'model file (<model.onnx>)'));
    if (!values.data) throw new UsageError('--data <dir> is required (a folder with input_0.pb and labels.pb)');
    if (!values.out) throw new UsageError('--out <scheme.json> is required');
    const method = values.method;
    if (method !== undefined && method !== 'measured' && method !== 'gradnorm') throw new UsageError(`--method must be measured or gradnorm, got "${method}"`);
    const bn = values.batchnorm;
    if (bn !== undefined && bn !== 'train' && bn !== 'frozen') throw new UsageError(`--batchnorm must be train or frozen, got "${bn}"`);
    const lr = values.lr === undefined ? undefined : Number(values.lr);
    if (lr !== undefined && !(lr > 0)) throw new UsageError(`--lr must be a positive number, got "${values.lr}"`);
    let budgetBytes: number | undefined;
    try {
      budgetBytes = values.budget === undefined ? undefined : parseBytes(values.budget);
    } catch (e) {
      if (e instanceof ModelError) throw new UsageError(`--budget: ${e.message}`);
      throw e;
    }
    const loaded = loadModel(file);
    let lastPct = -1;
    const r = await fitToBudget(file, loaded, values.data, {
      budgetBytes, target: values.target ?? 'host', method, lr, batchnorm: bn,
      steps: values.steps === undefined ? undefined : intOption(values.steps, 'steps', 3),
      loss: { kind: lossOption(values.loss) }, cache: !values['no-cache'],
      curvePoints: values.curve ? intOption(values.points, 'points', 8) : undefined,
      onProgress: (p) => {
        const pct = Math.floor((100 * p.done) / Math.max(p.total, 1) / 10) * 10;
        if (pct !== lastPct) { lastPct = pct; io.stderr(`analysis ${pct}%${p.done === p.total ? '\n' : '\r'}`); }
      },
    });
    fs.writeFileSync(values.out, serializeScheme(r.best.scheme));
    if (values.curve) fs.writeFileSync(values.curve, JSON.stringify({ model: file, target: values.target ?? 'host', method: r.contributions.method, frozenPeakBytes: r.frozenPeakBytes, fullPeakBytes: r.fullPeakBytes, points: r.curve }, null, 1) + '\n');
    const c = r.contributions;
    io.stdout([
      `analysis: ${c.method}${c.method === 'measured' ? ` (${c.steps} SGD steps, lr ${c.lr})` : ` (lr ${c.lr})`}, base loss ${c.baseLoss.toFixed(4)}${r.fromCache ? ', from cache' : ''}${r.cacheFile ? ` (${r.cacheFile})` : ''}`,
      `planned peak ${mb(r.best.peakBytes)} of budget ${mb(r.budgetBytes)} (forward only ${mb(r.frozenPeakBytes)}, full update ${mb(r.fullPeakBytes)})`,
      `contribution ${r.best.contribution.toPrecision(4)} from ${r.best.choices.length} layer(s):`,
      ...r.best.choices.map((x) => `  ${x.unit.padEnd(32)} ${x.option.padEnd(13)} ${x.score.toPrecision(3)}`),
      `wrote ${values.out}${values.curve ? ` and ${values.curve} (${r.curve.length} points)` : ''}`,
      '',
    ].join('\n'));
    return 0;
  },
};
