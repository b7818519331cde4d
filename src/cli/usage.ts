// Argument parsing shared by the commands: node's own parseArgs, with its errors turned into UsageError
// so that the dispatcher reports them as bad usage (exit 2) instead of a stack trace.

import * as fs from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ModelError } from '../compiler/onnx/errors';

/** The command line was wrong: exit code 2, the message and the command's usage on stderr. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** The single positional argument a command takes (a model file). */
export function onePositional(positionals: string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`);
  if (positionals.length > 1) throw new UsageError(`expected one ${what}, got ${positionals.length}: ${positionals.join(' ')}`);
  return positionals[0];
}

export function intOption(value: string | undefined, name: string, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} wants a non-negative integer, got "${value}"`);
  return n;
}

/** A model file argument that must exist and be a file; a clear ModelError otherwise. */
export function existingFile(file: string, what = 'model file'): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new ModelError(`${what} "${file}" does not exist`, file);
  }
  if (!st.isFile()) throw new ModelError(`${what} "${file}" is not a file`, file);
  return file;
}
