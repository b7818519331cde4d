// The CLI's command table. A command is a name, a one-line summary, its usage text and a function from
// its arguments to an exit code. Add new commands (grad, train, compile, export, ...) here.

import { inspectCommand } from './inspect';
import { sampleCommand } from './sample';
import { gradCommand } from './grad';
import { trainCommand } from './train';
import { compileCommand } from './compile';
import { exportCommand } from './export';
import { fitCommand } from './fit';
import { deployCommand } from './deploy';
import { targetsCommand } from './targets';

export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface Command {
  name: string;
  summary: string;
  /** Full usage, shown by `pockengine <name> --help` and after a usage error. */
  usage: string;
  run(argv: string[], io: CommandIO): number | Promise<number>;
}

export const commands: Command[] = [inspectCommand, sampleCommand, gradCommand, trainCommand, compileCommand, deployCommand, targetsCommand, fitCommand, exportCommand];
