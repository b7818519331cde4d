// `pockengine deploy <export-dir> --target <name|user@host[:port]> --data <dir> --steps N`: copies an export
// and a data folder to an SSH target, runs `train` there and streams its JSON step lines to stdout as they
// arrive; the rest of the remote output goes to stderr. Ctrl-C stops the remote process.

import type { Command } from './index';
import { deployExport, pullSaved, readTargetRecords, resolveTarget, startTraining } from '../../compiler/deploy';
import { intOption, onePositional, parseCommandArgs, UsageError } from '../usage';

function isJsonLine(line: string): boolean {
  const s = line.trim();
  if (!s.startsWith('{')) return false;
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

export const deployCommand: Command = {
  name: 'deploy',
  summary: 'copy an export to an SSH target (Pi, Jetson), run it and stream its step lines',
  usage: `usage: pockengine deploy <export-dir> --target <name|user@host[:port]> --data <dir> --steps N
                        [--ssh-config <file>] [--targets <targets.json>] [--pull <dir>] [--lr X] [--threads T]
                        [--connect-timeout S] [--name <remote folder>]

  Copies <export-dir> (it must hold the exported ./train) to <workdir>/<name>/ on the target and the data
  folder to <workdir>/<name>/data/, runs ./train --data data --steps N there (through the target's runner,
  e.g. qemu-aarch64, if it has one), and prints each {"step":k,"loss":x,"ms":t} line as it comes (and the
  binary's other JSON lines, e.g. its closing summary); other output goes to stderr. --pull
  brings the saved parameters back as .pb files.

  --target is a Host of the OpenSSH config (--ssh-config, default ~/.ssh/config), a name from --targets
  (a JSON array of {name, host, user, port, identityFile, workdir, runner}, the shape of the VS Code
  setting pockengine.targets), or user@host[:port]. ssh runs with your keys and agent, BatchMode and strict
  host key checking: add an unknown host to known_hosts first (ssh once by hand, or the Targets view).`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      target: { type: 'string' }, data: { type: 'string' }, steps: { type: 'string' }, 'ssh-config': { type: 'string' },
      targets: { type: 'string' }, pull: { type: 'string' }, lr: { type: 'string' }, threads: { type: 'string' },
      'connect-timeout': { type: 'string' }, name: { type: 'string' },
    });
    const exportDir = onePositional(positionals, 'export folder (<export-dir>)');
    if (!values.target) throw new UsageError('--target <name|user@host[:port]> is required');
    if (!values.data) throw new UsageError('--data <dir> is required');
    if (values.steps === undefined) throw new UsageError('--steps N is required');
    const steps = intOption(values.steps, 'steps', 1);
    const threads = values.threads === undefined ? undefined : intOption(values.threads, 'threads', 1);
    const connectTimeoutS = intOption(values['connect-timeout'], 'connect-timeout', 10);
    let lr: number | undefined;
    if (values.lr !== undefined) {
      lr = Number(values.lr);
      if (!Number.isFinite(lr)) throw new UsageError(`--lr must be a number, got "${values.lr}"`);
    }
    const target = resolveTarget(values.target, {
      sshConfigFile: values['ssh-config'],
      records: values.targets ? readTargetRecords(values.targets) : undefined,
    });
    const remoteDir = await deployExport(target, {
      exportDir, dataDir: values.data, name: values.name, connectTimeoutS,
      onProgress: (m) => io.stderr(`pockengine deploy: ${m}\n`),
    });
    io.stderr(`pockengine deploy: running ./train on ${target.name} in ${remoteDir}${target.runner.length ? ` through ${target.runner.join(' ')}` : ''}\n`);
    const run = startTraining(target, remoteDir, {
      steps, lr, threads, save: !!values.pull, connectTimeoutS,
      // The binary's JSON lines (steps, then its summary) go to stdout as printed; everything else is log.
      onLog: (line, stream) => {
        if (stream === 'stdout' && isJsonLine(line)) io.stdout(line.trim() + '\n');
        else io.stderr(`${target.name}: ${line}\n`);
      },
    });
    const onSignal = () => {
      io.stderr(`pockengine deploy: stopping the remote process\n`);
      void run.stop();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      for await (const step of run) void step; // printed by onLog, in order with the other JSON lines
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const outcome = await run.done;
    if (outcome.stopped) return 130;
    if (values.pull) {
      const files = await pullSaved(target, remoteDir, values.pull, { connectTimeoutS });
      io.stderr(`pockengine deploy: pulled ${files.length} parameter file(s) to ${values.pull}\n`);
    }
    return 0;
  },
};
