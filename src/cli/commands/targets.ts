// `pockengine targets [--ssh-config <file>] [--targets <file>] [--probe] [--json]`: the SSH targets the
// deploy command can use, and with --probe what each one is (architecture, board, cores, memory, free disk,
// matching device profile) and whether it is online.

import type { Command } from './index';
import { listTargets, probeTarget, readTargetRecords, type ProbeResult, type Target } from '../../compiler/deploy';
import { intOption, parseCommandArgs, UsageError } from '../usage';

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

function row(t: Target, p?: ProbeResult) {
  return {
    name: t.name, source: t.source, host: t.hostName ?? t.destination, user: t.user, port: t.port, workdir: t.workdir,
    runner: t.runner.length ? t.runner.join(' ') : undefined,
    ...(p && {
      online: p.online, error: p.error, errorKind: p.errorKind, arch: p.info?.arch, model: p.info?.model || undefined,
      tegraRelease: p.info?.tegraRelease || undefined, cores: p.info?.cores, memTotalBytes: p.info?.memTotalBytes,
      diskFreeBytes: p.info?.diskFreeBytes, profile: p.match?.profile, exportTarget: p.match?.exportTarget, abi: p.match?.abi, match: p.match?.why, probeMs: p.ms,
    }),
  };
}

export const targetsCommand: Command = {
  name: 'targets',
  summary: 'list SSH deploy targets (OpenSSH config Hosts and target records); --probe to see what they are',
  usage: `usage: pockengine targets [--ssh-config <file>] [--targets <targets.json>] [--probe] [--connect-timeout S] [--json]

  Lists the Host entries of the OpenSSH config (--ssh-config, default ~/.ssh/config; wildcard patterns are
  not listed, Include is not followed) and the records of --targets. --probe connects to each (one ssh
  round trip, bounded by --connect-timeout, default 5 s) and reports architecture, board, cores, memory,
  free disk of the working folder and the matching device profile, or why it is offline.`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      'ssh-config': { type: 'string' }, targets: { type: 'string' }, probe: { type: 'boolean' }, json: { type: 'boolean' },
      'connect-timeout': { type: 'string' },
    });
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const { targets, notes } = listTargets({
      sshConfigFile: values['ssh-config'],
      records: values.targets ? readTargetRecords(values.targets) : undefined,
    });
    const connectTimeoutS = intOption(values['connect-timeout'], 'connect-timeout', 5);
    const probes = values.probe ? await Promise.all(targets.map((t) => probeTarget(t, { connectTimeoutS }))) : [];
    const rows = targets.map((t, i) => row(t, probes[i]));
    if (values.json) {
      io.stdout(JSON.stringify(rows, null, 2) + '\n');
    } else {
      if (rows.length === 0) io.stdout('no targets: add Host entries to the ssh config or pass --targets <file>\n');
      for (const r of rows) {
        const where = `${r.user ? `${r.user}@` : ''}${r.host}${r.port ? `:${r.port}` : ''}`;
        io.stdout(`${r.name}  ${where}  (${r.source}${r.runner ? `, runner ${r.runner}` : ''})\n`);
        if (!values.probe) continue;
        if (!r.online || r.error) io.stdout(`  ${r.online ? 'online, unusable' : 'offline'}: ${r.error}\n`);
        else io.stdout(`  online: ${r.arch}${r.model ? `, ${r.model}` : ''}, ${r.cores} cores, ${gib(r.memTotalBytes!)} memory, ${gib(r.diskFreeBytes!)} free; profile ${r.profile ?? 'none'} (${r.match})\n`);
      }
    }
    for (const n of notes) io.stderr(`note: ${n}\n`);
    return 0;
  },
};
