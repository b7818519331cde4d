import type { Command } from './index';
import { loadModel } from '../../compiler/loadModel';
import { formatInspect, inspectModel } from '../../compiler/inspect';
import { existingFile, intOption, onePositional, parseCommandArgs } from '../usage';

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'op counts, parameters, inputs/outputs, layer tree and unknown operators of an ONNX model',
  usage: `usage: pockengine inspect <model.onnx> [--json] [--depth N]

  Summarises a model without reading its external weight data.
  --json       print the summary as JSON (stable, schemaVersion 1; see docs/cli.md)
  --depth N    how many levels of the layer tree to print (text form; default 2)`,
  run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' }, depth: { type: 'string' } });
    const file = existingFile(onePositional(positionals, 'model file (<model.onnx>)'));
    const depth = intOption(values.depth, 'depth', 2);
    const report = inspectModel(loadModel(file));
    io.stdout(values.json ? JSON.stringify(report, null, 2) + '\n' : formatInspect(report, depth));
    return 0;
  },
};
