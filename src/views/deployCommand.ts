// Deploy and Run…: on a target of the Targets view, choose an export (or build one for the profile the probe
// matched), a data folder and a number of steps; copy both over ssh, run `train --save`, draw its JSON step
// lines live in a Run panel, log everything to the PockEngine channel, Stop ends the remote process, and
// Pull parameters brings the saved .pb files back. Refused in untrusted workspaces.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { checkExportDir, deployExport, pullSaved, startTraining, type RemoteRun, type Target } from '../compiler/deploy';
import type { GraphEditorProvider } from './graphEditor';
import { exportForDevice, modelFor, requireTrust } from './exportCommand';
import { RunPanel } from './runPanel';
import { withHostKeyCheck, type TargetItem, type TargetsTreeProvider } from './targetsTree';
import { EXPORT_TARGETS, type ExportTarget } from './exportFlow';

interface ExportCandidate {
  dir: string;
  target?: string;
  format?: string;
  model?: string;
}

/** Export folders (with a `train` binary and a manifest) beside the open models and in the workspace folders. */
export function findExports(dirs: string[]): ExportCandidate[] {
  const out: ExportCandidate[] = [];
  const seen = new Set<string>();
  for (const d of dirs) {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const dir = path.join(d, e.name);
      if (!e.isDirectory() || e.name.startsWith('.') || seen.has(dir)) continue;
      const manifest = path.join(dir, 'manifest.json');
      if (!fs.existsSync(manifest) || checkExportDir(dir) !== null) continue;
      seen.add(dir);
      try {
        const m = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { target?: string; format?: string; model?: { name?: string } };
        out.push({ dir, target: m.target, format: m.format, model: m.model?.name });
      } catch {
        out.push({ dir });
      }
    }
  }
  return out;
}

/** Export targets whose binaries run on the same CPUs (all aarch64 targets share one static binary). */
export function sameAbi(a: string, b: string): boolean {
  const abi = (t: string): string => (t === 'host' ? 'host' : t === 'rpi4-armhf' ? 'armhf' : 'aarch64');
  return abi(a) === abi(b);
}

/** The full log of a run, written to the channel in chunks: a fast binary prints thousands of lines a second. */
function batchedLog(log: vscode.OutputChannel): { line(l: string): void; flush(): void } {
  let buf: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (buf.length) log.append(buf.join('\n') + '\n');
    buf = [];
  };
  return { line: (l) => { buf.push(l); timer ??= setTimeout(flush, 200); }, flush };
}

async function chooseExport(editors: GraphEditorProvider, log: vscode.OutputChannel, targets: TargetsTreeProvider, t: Target): Promise<string | undefined> {
  const dirs = new Set<string>();
  for (const d of editors.documents()) dirs.add(path.dirname(d.uri.fsPath));
  for (const f of vscode.workspace.workspaceFolders ?? []) dirs.add(f.uri.fsPath);
  const probe = targets.probeOf(t.name);
  const wanted = probe?.match?.exportTarget;
  const found = findExports([...dirs]).sort((a, b) => Number(b.target === wanted) - Number(a.target === wanted));
  type Pick = vscode.QuickPickItem & { dir?: string; action?: 'build' | 'browse' };
  const items: Pick[] = [
    ...found.map((c): Pick => ({ label: path.basename(c.dir), description: [c.model, c.target, c.format].filter(Boolean).join(' · ') + (wanted && c.target === wanted ? ' (matches the target)' : ''), detail: c.dir, dir: c.dir })),
    { label: `$(tools) Build an export for ${wanted ?? 'this target'} first…`, action: 'build' },
    { label: '$(folder) Choose an export folder…', action: 'browse' },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: `Deploy to ${t.name}: export`, placeHolder: wanted ? `The probe matched ${wanted}` : 'Probe the target to match its profile' });
  if (!pick) return undefined;
  if (pick.dir) return pick.dir;
  if (pick.action === 'browse') {
    const f = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: 'Deploy This Export' });
    return f?.[0]?.fsPath;
  }
  const model = await modelFor(editors, undefined);
  if (!model) return undefined;
  const exportTarget = wanted && (EXPORT_TARGETS as readonly string[]).includes(wanted) ? (wanted as ExportTarget) : undefined;
  const result = await exportForDevice(editors, log, model, { target: exportTarget, format: 'binary' });
  if (!result) return undefined;
  if (!result.binary) {
    void vscode.window.showErrorMessage(`PockEngine: the export has no binary to deploy${result.buildSkipped ? `: ${result.buildSkipped}` : ''}`);
    return undefined;
  }
  return result.out;
}

export async function deployAndRun(extensionUri: vscode.Uri, editors: GraphEditorProvider, log: vscode.OutputChannel, targets: TargetsTreeProvider, name: string): Promise<void> {
  if (!requireTrust('Deploy and Run')) return;
  const t = targets.target(name);
  if (!t) return;
  const exportDir = await chooseExport(editors, log, targets, t);
  if (!exportDir) return;
  const problem = checkExportDir(exportDir);
  if (problem) return void vscode.window.showErrorMessage(`PockEngine: ${problem}`);
  // A binary for another architecture fails on the device with "Exec format error": say so before copying.
  const wanted = targets.probeOf(t.name)?.match?.exportTarget;
  const built = findExports([path.dirname(exportDir)]).find((c) => c.dir === exportDir)?.target;
  if (wanted && built && !sameAbi(built, wanted)) {
    const go = await vscode.window.showWarningMessage(`${path.basename(exportDir)} was built for ${built}, but ${t.name} was probed as ${wanted}. Its binary will probably not run there.`, { modal: true }, 'Deploy Anyway');
    if (go !== 'Deploy Anyway') return;
  }
  const modelDir = editors.activeGraph ? path.dirname(editors.activeGraph.document.uri.fsPath) : path.dirname(exportDir);
  const data = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: 'Use This Data', title: 'Data folder (input_K.pb and labels.pb)', defaultUri: vscode.Uri.file(modelDir) });
  if (!data?.[0]) return;
  const stepsText = await vscode.window.showInputBox({ title: `Deploy to ${t.name}: steps`, prompt: 'Training steps to run', value: '20', validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) > 0 ? null : 'a whole number of steps, 1 or more') });
  if (stepsText === undefined) return;
  const steps = Number(stepsText.trim());

  let run: RemoteRun | undefined;
  let remoteDir: string | undefined;
  const panel: RunPanel = new RunPanel(extensionUri, { target: t.name, exportDir, steps }, {
    stop: () => {
      if (!run) return;
      panel.status('stopping', `Ending the training process on ${t.name}…`);
      log.appendLine(`[${t.name}] stop requested`);
      run.stop().catch((e: Error) => log.appendLine(`[${t.name}] stop failed: ${e.message}`));
    },
    pull: () => void pull(),
  });
  const pull = async (): Promise<void> => {
    if (!remoteDir) return;
    const dest = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canCreateFolders: true, canSelectMany: false, openLabel: 'Save Parameters Here', defaultUri: vscode.Uri.file(path.dirname(exportDir)) } as vscode.OpenDialogOptions);
    if (!dest?.[0]) return;
    try {
      const files = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Pulling parameters from ${t.name}` }, () => pullSaved(t, remoteDir!, dest[0].fsPath));
      log.appendLine(`[${t.name}] pulled ${files.length} parameter files into ${dest[0].fsPath}`);
      void vscode.window.showInformationMessage(`PockEngine: saved ${files.length} updated parameter files (.pb) in ${dest[0].fsPath}.`);
    } catch (e) {
      void vscode.window.showErrorMessage(`PockEngine: ${(e as Error).message}`);
    }
  };
  panel.onDidDispose(() => {
    // Closing the panel must not leave training running on the device unseen.
    if (run) run.stop().catch(() => undefined);
  });

  log.appendLine(`=== deploy ${exportDir} to ${t.name} (${steps} steps, data ${data[0].fsPath})`);
  try {
    remoteDir = await withHostKeyCheck(t, log, () => deployExport(t, {
      exportDir, dataDir: data[0].fsPath,
      onProgress: (m) => {
        log.appendLine(`[${t.name}] ${m}`);
        panel.status('deploying', m);
      },
    }));
    if (!remoteDir) return panel.status('failed', 'The host key was not trusted; nothing was copied.');
    if (panel.disposed) return;
    panel.status('running', `Running ./train --steps ${steps} in ${t.name}:${remoteDir}`);
    const remoteLog = batchedLog(log);
    run = startTraining(t, remoteDir, { steps, save: true, onLog: (line, stream) => remoteLog.line(`[${t.name}${stream === 'stderr' ? ' stderr' : ''}] ${line}`) });
    try {
      for await (const s of run) panel.step({ step: s.record.step, loss: s.record.loss, ms: s.record.ms });
    } finally {
      remoteLog.flush();
    }
    const outcome = await run.done;
    if (outcome.stopped) panel.status('stopped', `Stopped on ${t.name}; the process is gone.`);
    else panel.status('finished', `Finished ${steps} steps on ${t.name}. The updated parameters are saved there; Pull parameters copies them here.`, outcome.code === 0);
  } catch (e) {
    const message = (e as Error).message;
    log.appendLine(`[${t.name}] ${message}`);
    panel.status('failed', message);
    void vscode.window.showErrorMessage(`PockEngine: ${message}`);
  }
}

export function registerDeployCommand(extensionUri: vscode.Uri, editors: GraphEditorProvider, log: vscode.OutputChannel, targets: TargetsTreeProvider): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('pockengine.deploy', async (item?: TargetItem) => {
      const name = item?.name ?? (await vscode.window.showQuickPick(targets.all().map((t) => t.name), { title: 'Deploy and Run on target' }));
      if (name) await deployAndRun(extensionUri, editors, log, targets, name);
    }),
  ];
}
