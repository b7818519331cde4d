// Runs `train` on the target and streams its JSON step lines back as they are printed. The remote shell
// prints its own pid and then `exec`s the program, so the pid we record is the program's (or the runner's,
// e.g. qemu-aarch64, which is the process doing the work); stop() kills that pid over a second ssh
// connection and waits until the process is gone, since closing our connection alone would leave it running.

import { SshError } from './errors';
import { shellCommand, shellQuote } from './quote';
import { runSsh, spawnSsh, sshFailure, type SshCallOptions } from './ssh';
import type { Target } from './target';

/** One line the training program prints per step (`ms` when the binary times its steps). */
export interface StepRecord {
  step: number;
  loss: number;
  ms?: number;
  [k: string]: unknown;
}

export interface RemoteStep {
  record: StepRecord;
  /** The line exactly as the program printed it. */
  line: string;
}

export type LogStream = 'stdout' | 'stderr';

export interface RunRemoteOptions extends SshCallOptions {
  /** Remote folder to run in. */
  cwd: string;
  /** The program and its arguments, e.g. ['./train', '--data', 'data', '--steps', '10']; the target's runner is put in front. */
  argv: string[];
  /** Every line of output, both streams, as it arrives (the full log). */
  onLog?: (line: string, stream: LogStream) => void;
}

export interface RunOutcome {
  /** Exit code of the remote program; null when it was ended by a signal. */
  code: number | null;
  /** true when stop() ended it. */
  stopped: boolean;
  stderrTail: string;
}

export interface RemoteRun extends AsyncIterable<RemoteStep> {
  /** The remote process id, once the remote shell has reported it. */
  readonly pid: Promise<number>;
  /** Resolves when the run is over (never rejects; connection failures reject the iteration). */
  readonly done: Promise<RunOutcome>;
  /** Ends the remote process (TERM, then KILL after a grace period) and waits until it is gone. */
  stop(): Promise<void>;
}

const PID_MARK = '@@pockengine-pid ';

/** The remote command line: every word of the user's input is quoted; `$$` is the remote shell's own pid. */
export function remoteRunCommand(cwd: string, argv: string[]): string {
  return `${shellCommand(['cd', '--', cwd])} && echo ${shellQuote(PID_MARK.trim())} $$ && exec ${shellCommand(argv)}`;
}

export function parseStepLine(line: string): StepRecord | null {
  const s = line.trim();
  if (!s.startsWith('{')) return null;
  try {
    const v = JSON.parse(s) as StepRecord;
    return v && typeof v === 'object' && typeof v.step === 'number' && typeof v.loss === 'number' ? v : null;
  } catch {
    return null;
  }
}

/** Whether the process `pid` still exists on the target. */
export async function remoteAlive(t: Target, pid: number, o: SshCallOptions = {}): Promise<boolean> {
  const r = await runSsh(t, `${shellCommand(['kill', '-0', String(pid)])} 2>/dev/null`, { ...o, timeoutMs: 20_000 });
  return r.code === 0;
}

/** Signals `pid` and waits (polling remotely) until it is gone: TERM, then KILL after `graceMs`. */
export async function killRemote(t: Target, pid: number, o: SshCallOptions & { graceMs?: number } = {}): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`refusing to kill pid ${pid}`);
  const q = shellQuote(String(pid));
  const graceTenths = Math.max(1, Math.round((o.graceMs ?? 3000) / 100));
  // One round trip: TERM, poll every 0.1 s, KILL if it outlives the grace, then report whether it is gone.
  const script = [
    `kill -TERM ${q} 2>/dev/null`,
    `i=0; while kill -0 ${q} 2>/dev/null && [ $i -lt ${graceTenths} ]; do sleep 0.1; i=$((i+1)); done`,
    `if kill -0 ${q} 2>/dev/null; then kill -KILL ${q} 2>/dev/null; sleep 0.2; fi`,
    `if kill -0 ${q} 2>/dev/null; then echo alive; else echo gone; fi`,
  ].join('; ');
  const r = await runSsh(t, script, { ...o, timeoutMs: (o.graceMs ?? 3000) + 30_000 });
  if (r.stdout.trim() !== 'gone') throw new SshError(`target "${t.name}": process ${pid} is still running after TERM and KILL`, 'remote', t.name, r.stderr);
}

export function runRemote(t: Target, o: RunRemoteOptions): RemoteRun {
  const child = spawnSsh(t, remoteRunCommand(o.cwd, [...t.runner, ...o.argv]), o);
  child.stdin!.end();
  const queue: RemoteStep[] = [];
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  let finished = false;
  let failure: Error | undefined;
  let stopped = false;
  let stderrTail = '';
  let resolvePid!: (pid: number) => void;
  let rejectPid!: (e: Error) => void;
  const pid = new Promise<number>((res, rej) => ((resolvePid = res), (rejectPid = rej)));
  pid.catch(() => {});
  let pidKnown: number | undefined;

  const lines = (stream: LogStream, onLine: (l: string) => void) => {
    let buf = '';
    const src = stream === 'stdout' ? child.stdout! : child.stderr!;
    src.setEncoding('utf8');
    src.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i).replace(/\r$/, ''));
        buf = buf.slice(i + 1);
      }
    });
    src.on('end', () => buf && onLine(buf));
  };
  lines('stdout', (line) => {
    if (pidKnown === undefined && line.startsWith(PID_MARK)) {
      pidKnown = Number(line.slice(PID_MARK.length));
      resolvePid(pidKnown);
      return;
    }
    o.onLog?.(line, 'stdout');
    const record = parseStepLine(line);
    if (record) {
      queue.push({ record, line: line.trim() });
      wake();
    }
  });
  lines('stderr', (line) => {
    stderrTail = (stderrTail + line + '\n').slice(-4000);
    o.onLog?.(line, 'stderr');
  });

  const done = new Promise<RunOutcome>((resolve) => {
    child.on('error', (e) => {
      failure = new SshError(`cannot start ssh: ${e.message}`, 'local', t.name);
    });
    child.on('close', (code) => {
      finished = true;
      if (pidKnown === undefined) {
        rejectPid(failure ?? (code === 255 ? sshFailureOf(stderrTail) : new SshError(`target "${t.name}": the run did not start (exit ${code}): ${stderrTail.trim()}`, 'remote', t.name, stderrTail)));
      }
      if (!stopped && !failure) {
        if (code === 255) failure = sshFailureOf(stderrTail);
        else if (code !== 0) failure = new SshError(`target "${t.name}": ${o.argv.join(' ')} exited with status ${code}: ${stderrTail.trim().split('\n').slice(-5).join(' | ')}`, 'remote', t.name, stderrTail);
      }
      wake();
      resolve({ code: code === 255 ? null : code, stopped, stderrTail });
    });
  });

  const sshFailureOf = (stderr: string) => sshFailure(t, stderr);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (finished) return;
      stopped = true;
      // Until the remote shell has said its pid there is nothing to kill remotely; wait for it (or the end).
      const p = await Promise.race([pid.catch(() => undefined), done.then(() => undefined)]);
      if (p !== undefined && !finished) await killRemote(t, p, o);
      await done;
    })();
    return stopping;
  };

  return {
    pid,
    done,
    stop,
    [Symbol.asyncIterator](): AsyncIterator<RemoteStep> {
      return {
        async next() {
          for (;;) {
            if (queue.length) return { value: queue.shift()!, done: false };
            if (finished) {
              if (failure) throw failure;
              return { value: undefined, done: true };
            }
            await new Promise<void>((r) => waiters.push(r));
          }
        },
        async return() {
          await stop();
          return { value: undefined, done: true };
        },
      };
    },
  };
}
