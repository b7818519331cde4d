// The on-disk form of a batch and of parameters, shared by `pockengine grad`, `pockengine train` and the
// exported binaries: ONNX TensorProto files (.pb) — input_0.pb, input_1.pb, ... for the model inputs in
// order, labels.pb for the labels/targets — and one .pb per parameter named after its initializer.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tensor } from '../ir/tensor';
import { decodeTensorProto } from '../onnx/import';
import { loadInitializer } from '../onnx/tensorData';
import { encodeTensor } from '../onnx/encode';
import { ModelError } from '../onnx/errors';
import type { TrainingGraph } from './trainingGraph';

export function readTensorFile(file: string): Tensor {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new ModelError(`cannot read tensor file ${file}: ${(e as Error).message}`);
  }
  try {
    return loadInitializer(decodeTensorProto(bytes, path.dirname(file)));
  } catch (e) {
    throw new ModelError(`${file}: ${(e as Error).message}`);
  }
}

/** The feeds of a training step from a data folder: input_K.pb for the K-th model input, labels.pb for the loss. */
export function readBatch(dir: string, tg: TrainingGraph): Map<string, Tensor> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ModelError(`data folder ${dir} does not exist; it should hold input_0.pb and labels.pb`);
  const feeds = new Map<string, Tensor>();
  const modelInputs = tg.dataInputs.filter((n) => n !== tg.loss.target);
  modelInputs.forEach((name, k) => {
    const file = path.join(dir, `input_${k}.pb`);
    if (!fs.existsSync(file)) throw new ModelError(`${file} is missing: the model's input ${k} ("${name}") needs it`);
    feeds.set(name, readTensorFile(file));
  });
  const labels = path.join(dir, 'labels.pb');
  if (!fs.existsSync(labels)) throw new ModelError(`${labels} is missing: the loss needs the ${tg.loss.kind === 'cross_entropy' ? 'int64 class labels' : 'float targets'}`);
  feeds.set(tg.loss.target, readTensorFile(labels));
  return feeds;
}

/** File name of a parameter: its initializer name with characters outside [A-Za-z0-9._-] replaced by '_'. */
export function paramFileName(param: string): string {
  return `${param.replace(/[^A-Za-z0-9._-]/g, '_')}.pb`;
}

export function writeTensors(dir: string, tensors: Map<string, Tensor>): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, t] of tensors) {
    const file = path.join(dir, paramFileName(name));
    fs.writeFileSync(file, encodeTensor(name, t));
    written.push(file);
  }
  return written;
}
