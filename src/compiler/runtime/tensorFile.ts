// Reads a serialized TensorProto (.pb, the ONNX test-data format) into a Tensor.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tensor } from '../ir/tensor';
import { decodeTensorProto } from '../onnx/import';
import { loadInitializer } from '../onnx/tensorData';

export function readTensorFile(file: string): Tensor {
  const init = decodeTensorProto(new Uint8Array(fs.readFileSync(file)), path.dirname(file));
  return loadInitializer(init);
}
