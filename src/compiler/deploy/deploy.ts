// An export on a target: copy the export folder and the user's data folder to
// `<workdir>/<export-name>/` (data under `data/`), run `./train` there, and pull the saved parameters back.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../onnx/errors';
import { runRemote, type LogStream, type RemoteRun } from './run';
import type { SshCallOptions } from './ssh';
import type { Target } from './target';
import { downloadDir, uploadDir } from './transfer';

/** Where the data and the saved parameters sit inside the remote export folder. */
export const REMOTE_DATA = 'data';
export const REMOTE_SAVE = 'saved';

export interface DeployOptions extends SshCallOptions {
  exportDir: string;
  dataDir: string;
  /** Name of the remote folder under the target's workdir; default the export folder's name. */
  name?: string;
  onProgress?: (message: string) => void;
}

/** Posix join that keeps `.`/relative workdirs relative (remote home). */
export function remoteJoin(...parts: string[]): string {
  return path.posix.join(...parts);
}

/** A readable reason an export folder cannot be deployed, or null. */
export function checkExportDir(dir: string): string | null {
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return `export folder "${dir}" does not exist`;
  const train = fs.statSync(path.join(dir, 'train'), { throwIfNoEntry: false });
  if (!train?.isFile()) return `export folder "${dir}" has no "train" binary; export with --format binary first`;
  if ((train.mode & 0o111) === 0) return `"${path.join(dir, 'train')}" is not executable`;
  return null;
}

/** Copies the export and the data; returns the remote folder. */
export async function deployExport(t: Target, o: DeployOptions): Promise<string> {
  const problem = checkExportDir(o.exportDir);
  if (problem) throw new ModelError(problem, o.exportDir);
  if (!fs.statSync(o.dataDir, { throwIfNoEntry: false })?.isDirectory()) throw new ModelError(`data folder "${o.dataDir}" does not exist`, o.dataDir);
  const name = o.name ?? path.basename(path.resolve(o.exportDir));
  if (!name || name === '.' || name === '..' || name.includes('/')) throw new ModelError(`"${name}" cannot name a remote folder`);
  const remoteDir = remoteJoin(t.workdir, name);
  o.onProgress?.(`copying ${o.exportDir} to ${t.name}:${remoteDir}`);
  await uploadDir(t, o.exportDir, remoteDir, o);
  o.onProgress?.(`copying ${o.dataDir} to ${t.name}:${remoteJoin(remoteDir, REMOTE_DATA)}`);
  await uploadDir(t, o.dataDir, remoteJoin(remoteDir, REMOTE_DATA), { ...o, clean: true });
  return remoteDir;
}

export interface TrainOptions extends SshCallOptions {
  steps: number;
  lr?: number;
  threads?: number;
  /** Pass `--save saved` so the parameters can be pulled back afterwards. */
  save?: boolean;
  extraArgs?: string[];
  onLog?: (line: string, stream: LogStream) => void;
}

/** The `train` command line of the export issue's binary interface. */
export function trainArgv(o: TrainOptions): string[] {
  const argv = ['./train', '--data', REMOTE_DATA, '--steps', String(o.steps)];
  if (o.lr !== undefined) argv.push('--lr', String(o.lr));
  if (o.threads !== undefined) argv.push('--threads', String(o.threads));
  if (o.save) argv.push('--save', REMOTE_SAVE);
  return [...argv, ...(o.extraArgs ?? [])];
}

export function startTraining(t: Target, remoteDir: string, o: TrainOptions): RemoteRun {
  return runRemote(t, { ...o, cwd: remoteDir, argv: trainArgv(o) });
}

/** Pulls the `.pb` parameter files a finished `--save` run wrote; returns their local paths. */
export async function pullSaved(t: Target, remoteDir: string, localDir: string, o: SshCallOptions = {}): Promise<string[]> {
  const files = await downloadDir(t, remoteJoin(remoteDir, REMOTE_SAVE), localDir, o);
  return files.filter((f) => f.endsWith('.pb')).map((f) => path.join(localDir, f));
}
