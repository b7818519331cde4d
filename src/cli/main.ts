// `pockengine`: the command-line face of the compiler. Dispatches to the command table; a problem with the
// user's input (ModelError, UsageError) is one clear line on stderr and exit code 2; anything else is a bug
// and keeps its stack trace (exit 1).

import { commands, type CommandIO } from './commands/index';
import { UsageError } from './usage';
import { ModelError } from '../compiler/onnx/errors';
import { version } from '../../package.json';

const io: CommandIO = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
};

function help(): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: pockengine <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Run `pockengine <command> --help` for a command\'s options.',
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout)(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout(`${version}\n`);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    io.stderr(`pockengine: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(cmd.usage + '\n');
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`pockengine ${cmd.name}: ${e.message}\n\n${cmd.usage}\n`);
      return 2;
    }
    if (e instanceof ModelError) {
      io.stderr(`pockengine ${cmd.name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

// `pockengine inspect m.onnx | head`: a closed pipe is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`pockengine: internal error (please report): ${(e as Error)?.stack ?? e}\n`);
    process.exitCode = 1;
  },
);
