// Writes the generated samples to disk: the model file and, for the demo, its data folder.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeModel, encodeTensor } from '../onnx/encode';
import { buildDemo } from './demo';
import { buildLlama } from './llama';

export const SAMPLE_NAMES = ['demo', 'llama7b'] as const;
export type SampleName = (typeof SAMPLE_NAMES)[number];

export function writeSample(name: SampleName, modelFile: string): { file: string; bytes: number }[] {
  const written: { file: string; bytes: number }[] = [];
  const write = (file: string, bytes: Uint8Array): void => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Write then rename, so a reader never sees half a file.
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
    written.push({ file, bytes: bytes.length });
  };
  if (name === 'demo') {
    const s = buildDemo();
    write(modelFile, encodeModel(s.model));
    const data = path.join(path.dirname(modelFile), 'data');
    write(path.join(data, 'input_0.pb'), encodeTensor('input', s.input));
    write(path.join(data, 'labels.pb'), encodeTensor('labels', s.labels));
  } else {
    write(modelFile, encodeModel(buildLlama()));
  }
  return written;
}
