import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from './index';
import { UsageError, parseCommandArgs, onePositional } from '../usage';
import { writeSample, SAMPLE_NAMES, type SampleName } from '../../compiler/samples/write';
import { formatBytes } from '../../compiler/inspect';

export const sampleCommand: Command = {
  name: 'sample',
  summary: 'write a generated sample model (demo CNN with data, or a LLaMA-2-7B-shaped graph)',
  usage: `usage: pockengine sample <${SAMPLE_NAMES.join('|')}> --out <model.onnx>

  demo      the demo classifier (MobileNetV2-style, input [8,3,32,32], 10 classes) and one batch of
            data beside it: <folder of --out>/data/input_0.pb and labels.pb
  llama7b   a LLaMA-2-7B-shaped decoder (32 layers, 6.74e9 float16 parameters) whose weights point to
            external data that is never written (13.5 GB as if it were)`,
  run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { out: { type: 'string', short: 'o' } });
    const name = onePositional(positionals, `sample name (${SAMPLE_NAMES.join(' or ')})`);
    if (!(SAMPLE_NAMES as readonly string[]).includes(name)) throw new UsageError(`unknown sample "${name}"; choose ${SAMPLE_NAMES.join(' or ')}`);
    if (!values.out) throw new UsageError('missing --out <model.onnx>');
    const out = path.resolve(values.out);
    if (fs.existsSync(out) && fs.statSync(out).isDirectory()) throw new UsageError(`--out "${values.out}" is a folder; give the model file to write`);
    const written = writeSample(name as SampleName, out);
    for (const f of written) io.stdout(`wrote ${path.relative(process.cwd(), f.file) || f.file} (${formatBytes(f.bytes)})\n`);
    return 0;
  },
};
