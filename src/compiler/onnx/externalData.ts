// External data: initializers whose bytes live in another file beside the model. They stay on disk until a
// consumer asks for them, so a model whose weights exceed memory still opens and shows its graph.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from './errors';

/**
 * Resolves an external-data `location` against the model's folder. Absolute paths and paths that leave
 * the folder are refused: a model file must not make us read arbitrary files of the user's machine.
 */
export function resolveExternalLocation(modelDir: string, location: string, tensorName: string): string {
  if (location === '') throw new ModelError(`initializer "${tensorName}" has external data with an empty location`);
  if (location.includes('\0')) throw new ModelError(`initializer "${tensorName}" has an external-data location containing a NUL byte`);
  if (path.isAbsolute(location) || path.win32.isAbsolute(location) || /^[a-zA-Z]:/.test(location)) {
    throw new ModelError(
      `initializer "${tensorName}": external-data location "${location}" is an absolute path; ` +
        'ONNX requires it to be relative to the model\'s folder. Re-save the model with relative external data.',
    );
  }
  const root = path.resolve(modelDir);
  const full = path.resolve(root, location.replace(/\\/g, '/'));
  const rel = path.relative(root, full);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new ModelError(
      `initializer "${tensorName}": external-data location "${location}" leaves the model's folder; ` +
        'refusing to read it. Keep external data files beside the model.',
    );
  }
  return full;
}

/** Reads `length` bytes at `offset` of an external-data file (length null: to the end). */
export function readExternalBytes(file: string, offset: number, length: number | null, tensorName: string): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new ModelError(
      `weights of "${tensorName}" are in "${path.basename(file)}", which cannot be read (${(e as NodeJS.ErrnoException).code ?? e}); ` +
        'put the external-data file beside the model.',
      file,
    );
  }
  try {
    const size = fs.fstatSync(fd).size;
    const len = length ?? size - offset;
    if (offset < 0 || len < 0 || offset + len > size) {
      throw new ModelError(`weights of "${tensorName}": bytes ${offset}..${offset + len} lie outside "${path.basename(file)}" (${size} bytes)`, file);
    }
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = fs.readSync(fd, buf, got, len - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, got);
  } finally {
    fs.closeSync(fd);
  }
}
