// Export for device…: target profile, output folder and format from quick picks, then the export API under
// a cancellable progress notification, its log in the PockEngine output channel, and a modal question
// before an earlier export is replaced. The flow itself (and what it says) is exportFlow.ts.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ExportResult } from '../compiler/export/exportTraining';
import type { GraphEditorProvider } from './graphEditor';
import { planSettings } from './planSettings';
import { defaultExportFolder, EXPORT_FORMATS, EXPORT_TARGETS, runExportFlow, targetProfile, type ExportFormat, type ExportTarget } from './exportFlow';

const TARGET_LABELS: Record<ExportTarget, string> = {
  host: 'This machine (cc)',
  rpi4: 'Raspberry Pi 4, 64-bit OS (aarch64, static)',
  rpi5: 'Raspberry Pi 5, 64-bit OS (aarch64, static)',
  'rpi4-armhf': 'Raspberry Pi, 32-bit OS (armhf, static)',
  'jetson-nano': 'Jetson Nano (aarch64 + CUDA sm_53)',
  'jetson-orin-nano': 'Jetson Orin Nano (aarch64 + CUDA sm_87)',
  'jetson-agx-orin': 'Jetson AGX Orin (aarch64 + CUDA sm_87)',
};

/** Trust is checked in every command that writes binaries or reaches a device, not only hidden by `when`. */
export function requireTrust(what: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(`PockEngine: ${what} needs a trusted workspace. Trust this workspace (Manage Workspace Trust) to use it.`);
  return false;
}

/** The model the user means: an explorer/editor argument, the active graph editor, else an open dialog. */
export async function modelFor(editors: GraphEditorProvider, arg: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri && arg.path.toLowerCase().endsWith('.onnx')) return arg;
  const active = editors.activeGraph?.document.uri;
  if (active) return active;
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, openLabel: 'Export Model' });
  return picked?.[0];
}

export async function pickExportTarget(preferred?: string): Promise<ExportTarget | undefined> {
  const items = EXPORT_TARGETS.map((t) => ({ label: t, description: TARGET_LABELS[t], picked: t === preferred }));
  items.sort((a, b) => Number(b.picked) - Number(a.picked));
  const pick = await vscode.window.showQuickPick(items, { title: 'Export for device: target profile', placeHolder: 'The device the training binary is for' });
  return pick?.label as ExportTarget | undefined;
}

export interface ExportChoices {
  target?: ExportTarget;
  format?: ExportFormat;
  out?: string;
}

/** Asks what is not given, exports, reports. Returns the result when an export was written. */
export async function exportForDevice(editors: GraphEditorProvider, log: vscode.OutputChannel, model: vscode.Uri, given: ExportChoices = {}): Promise<ExportResult | undefined> {
  if (!requireTrust('Export for device')) return undefined;
  // The device the plan views follow comes first in the list.
  const target = given.target ?? await pickExportTarget(planSettings.device);
  if (!target) return undefined;
  let out = given.out;
  if (!out) {
    const def = defaultExportFolder(model.fsPath, target);
    const pick = await vscode.window.showQuickPick([
      { label: path.basename(def), description: path.dirname(def), detail: 'Beside the model (default)', out: def },
      { label: 'Choose a folder…', description: '', detail: 'The export is written into the folder you choose', out: '' },
    ], { title: 'Export for device: output folder' });
    if (!pick) return undefined;
    out = pick.out;
    if (!out) {
      const dir = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canCreateFolders: true, canSelectMany: false, openLabel: 'Export Here', defaultUri: vscode.Uri.file(path.dirname(def)) } as vscode.OpenDialogOptions);
      if (!dir?.[0]) return undefined;
      out = dir[0].fsPath;
    }
  }
  let format = given.format;
  if (!format) {
    const pick = await vscode.window.showQuickPick(EXPORT_FORMATS.map((f) => ({ label: f.label, detail: f.detail, format: f.format })), { title: 'Export for device: format' });
    if (!pick) return undefined;
    format = pick.format;
  }
  const open = editors.documents().find((d) => d.uri.toString() === model.toString());
  const scheme = open?.training?.scheme;
  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Exporting ${path.basename(model.fsPath)} for ${target}`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      try {
        // Unit overrides made in the Backends view belong to its device: they apply when exporting for it.
        const backendOverrides = planSettings.device === targetProfile(target) ? planSettings.overrides(model.fsPath) : undefined;
        return await runExportFlow({ model: model.fsPath, target, format: format!, out: out!, scheme, backendOverrides }, {
          signal: abort.signal,
          progress: (message) => progress.report({ message }),
          log: (line) => log.appendLine(line),
          confirmOverwrite: async (question) => (await vscode.window.showWarningMessage(question, { modal: true }, 'Replace')) === 'Replace',
        });
      } finally {
        sub.dispose();
      }
    },
  );
  if (outcome.kind === 'done') {
    if (outcome.warning) {
      log.show(true);
      void vscode.window.showWarningMessage(`PockEngine: ${outcome.warning}`);
    } else {
      void vscode.window.showInformationMessage(`PockEngine: ${outcome.summary}`, 'Reveal').then((a) => {
        if (a === 'Reveal') void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(outcome.result.out));
      });
    }
    return outcome.result;
  }
  if (outcome.kind === 'failed') {
    log.show(true);
    void vscode.window.showErrorMessage(`PockEngine: ${outcome.summary}`);
  } else void vscode.window.showInformationMessage(`PockEngine: ${outcome.summary}`);
  return undefined;
}

export function registerExportCommand(editors: GraphEditorProvider, log: vscode.OutputChannel): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('pockengine.export', async (arg?: unknown) => {
      const model = await modelFor(editors, arg);
      if (model) await exportForDevice(editors, log, model);
    }),
  ];
}
