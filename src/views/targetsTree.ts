// The Targets view: devices from the setting `pockengine.targets` and the Host entries of the OpenSSH config
// (`pockengine.sshConfigFile`, else ~/.ssh/config). Add target… appends to the setting; Probe (context
// menu) reads arch, board, cores, memory and disk over ssh and shows them with the matched profile. An
// unknown host key is shown with its fingerprints in a modal question and written to known_hosts only on
// "Trust"; ssh itself always runs with StrictHostKeyChecking=yes. No password is ever asked for or stored:
// ssh runs in BatchMode with the user's keys and agent (a future password flow would use SecretStorage).

import * as vscode from 'vscode';
import { fetchHostKey, listTargets, probeTarget, trustHostKey, SshError, type ProbeResult, type Target, type TargetRecord } from '../compiler/deploy';
import { describeProbe, hostKeyQuestion, recordFromAnswers, validateHost, validatePort } from './targetsModel';
import { requireTrust } from './exportCommand';

export interface TargetItem {
  name: string;
}

/** The targets the settings name now (records first, then ssh config aliases). */
export function configuredTargets(): { targets: Target[]; notes: string[]; error?: string } {
  const cfg = vscode.workspace.getConfiguration('pockengine');
  const records = cfg.get<TargetRecord[]>('targets') ?? [];
  const sshConfigFile = cfg.get<string>('sshConfigFile')?.trim() || undefined;
  try {
    return listTargets({ records, sshConfigFile });
  } catch (e) {
    return { targets: [], notes: [], error: (e as Error).message };
  }
}

/**
 * Asks to trust an unknown host key (fingerprints in a modal); true when the user chose Trust and the key
 * was added. A changed key is never offered: that is an error the user must resolve outside.
 */
export async function offerHostKeyTrust(t: Target, log: vscode.OutputChannel): Promise<boolean> {
  let fetched;
  try {
    fetched = await fetchHostKey(t);
  } catch (e) {
    void vscode.window.showErrorMessage(`PockEngine: ${(e as Error).message}`);
    return false;
  }
  const file = t.knownHostsFile ?? fetched.endpoint.knownHostsFiles[0];
  const answer = await vscode.window.showWarningMessage(`Unknown host key for "${t.name}"`, { modal: true, detail: hostKeyQuestion(t, fetched, file) }, 'Trust');
  if (answer !== 'Trust') return false;
  trustHostKey(t, fetched.keys, file);
  log.appendLine(`${t.name}: trusted ${fetched.keys.map((k) => `${k.type} ${k.fingerprint}`).join(', ')} (added to ${file})`);
  return true;
}

/** Runs `fn`; on an unknown host key asks to trust it and, if trusted, runs it once more. */
export async function withHostKeyCheck<T>(t: Target, log: vscode.OutputChannel, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof SshError && e.kind === 'unknown-host-key') {
      if (await offerHostKeyTrust(t, log)) return fn();
      return undefined;
    }
    throw e;
  }
}

export class TargetsTreeProvider implements vscode.TreeDataProvider<TargetItem> {
  private readonly changed = new vscode.EventEmitter<TargetItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly probes = new Map<string, ProbeResult>();
  private readonly probing = new Set<string>();
  private targets: Target[] = [];
  private readonly items = new Map<string, TargetItem>();

  constructor(private readonly log: vscode.OutputChannel) {
    this.reload();
  }

  reload(): void {
    const r = configuredTargets();
    this.targets = r.targets;
    if (r.error) this.log.appendLine(`Targets: ${r.error}`);
    for (const n of r.notes) this.log.appendLine(`Targets: ${n}`);
    this.changed.fire(undefined);
  }

  target(name: string): Target | undefined {
    return this.targets.find((t) => t.name === name);
  }

  all(): Target[] {
    return this.targets;
  }

  probeOf(name: string): ProbeResult | undefined {
    return this.probes.get(name);
  }

  private item(name: string): TargetItem {
    let it = this.items.get(name);
    if (!it) this.items.set(name, (it = { name }));
    return it;
  }

  getChildren(element?: TargetItem): TargetItem[] {
    return element ? [] : this.targets.map((t) => this.item(t.name));
  }

  getTreeItem(element: TargetItem): vscode.TreeItem {
    const t = this.target(element.name);
    const item = new vscode.TreeItem(element.name, vscode.TreeItemCollapsibleState.None);
    item.id = `target:${element.name}`;
    item.contextValue = t?.source === 'setting' ? 'target.setting' : 'target';
    if (!t) return item;
    const v = describeProbe(t, this.probes.get(t.name));
    item.description = this.probing.has(t.name) ? 'probing…' : v.description;
    item.tooltip = v.tooltip;
    item.iconPath = new vscode.ThemeIcon(
      this.probing.has(t.name) ? 'loading~spin' : v.online === null ? 'vm' : v.online ? 'vm-active' : 'vm-outline',
      v.online === false ? new vscode.ThemeColor('disabledForeground') : undefined,
    );
    return item;
  }

  /** Probes a target (asking about an unknown host key) and shows the result in its item. */
  async probe(name: string): Promise<ProbeResult | undefined> {
    const t = this.target(name);
    if (!t) return undefined;
    this.probing.add(name);
    this.changed.fire(this.item(name));
    try {
      let r = await probeTarget(t);
      if (r.errorKind === 'unknown-host-key' && (await offerHostKeyTrust(t, this.log))) r = await probeTarget(t);
      this.probes.set(name, r);
      this.log.appendLine(`${name}: ${r.info ? `online, ${r.info.arch}, ${r.match?.why ?? ''}` : `${r.online ? 'online' : 'offline'}: ${r.error}`}`);
      if (r.error && r.errorKind !== 'unknown-host-key') void vscode.window.showWarningMessage(`PockEngine: ${r.error}`);
      return r;
    } finally {
      this.probing.delete(name);
      this.changed.fire(this.item(name));
    }
  }
}

/** Add target…: host (user@host:port accepted), user, port, identity file, working folder → the setting. */
export async function addTarget(): Promise<TargetRecord | undefined> {
  const host = await vscode.window.showInputBox({ title: 'Add target (1/5): host', prompt: 'Host name or address (user@host:port also works)', validateInput: validateHost, ignoreFocusOut: true });
  if (host === undefined) return undefined;
  const user = await vscode.window.showInputBox({ title: 'Add target (2/5): user', prompt: 'User to log in as (empty: your ssh config\'s or your local user)', ignoreFocusOut: true });
  if (user === undefined) return undefined;
  const port = await vscode.window.showInputBox({ title: 'Add target (3/5): port', prompt: 'SSH port (empty: 22 or the ssh config\'s)', validateInput: validatePort, ignoreFocusOut: true });
  if (port === undefined) return undefined;
  const idPick = await vscode.window.showQuickPick([
    { label: 'Use my ssh agent and default keys', file: '' },
    { label: 'Choose an identity file…', file: '?' },
  ], { title: 'Add target (4/5): key (passwords are never stored)' });
  if (!idPick) return undefined;
  let identityFile = '';
  if (idPick.file === '?') {
    const f = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Use This Key', title: 'Private key for the target' });
    if (!f?.[0]) return undefined;
    identityFile = f[0].fsPath;
  }
  const workdir = await vscode.window.showInputBox({ title: 'Add target (5/5): working folder', prompt: 'Remote folder for exports and data (relative: under the remote home)', value: 'pockengine', ignoreFocusOut: true });
  if (workdir === undefined) return undefined;
  const cfg = vscode.workspace.getConfiguration('pockengine');
  const existing = cfg.get<TargetRecord[]>('targets') ?? [];
  const record = recordFromAnswers({ host, user, port, identityFile, workdir }, existing);
  // Workspace folder settings are not trusted for targets (restrictedConfigurations), so write the user's.
  await cfg.update('targets', [...existing, record], vscode.ConfigurationTarget.Global);
  return record;
}

export function registerTargets(log: vscode.OutputChannel): { provider: TargetsTreeProvider; disposables: vscode.Disposable[] } {
  const provider = new TargetsTreeProvider(log);
  const view = vscode.window.createTreeView('pockengine.targets', { treeDataProvider: provider, showCollapseAll: false });
  const disposables: vscode.Disposable[] = [
    view,
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('pockengine.targets') || e.affectsConfiguration('pockengine.sshConfigFile')) provider.reload();
    }),
    vscode.commands.registerCommand('pockengine.targets.refresh', () => provider.reload()),
    vscode.commands.registerCommand('pockengine.targets.add', async () => {
      const r = await addTarget();
      if (!r) return;
      provider.reload();
      if (vscode.workspace.isTrusted) await provider.probe(r.name ?? r.host);
    }),
    vscode.commands.registerCommand('pockengine.targets.probe', async (item?: TargetItem) => {
      if (!requireTrust('Probing a target over SSH')) return;
      const name = item?.name ?? (await vscode.window.showQuickPick(provider.all().map((t) => t.name), { title: 'Probe target' }));
      if (name) await provider.probe(name);
    }),
    vscode.commands.registerCommand('pockengine.targets.remove', async (item?: TargetItem) => {
      if (!item) return;
      const cfg = vscode.workspace.getConfiguration('pockengine');
      const records = cfg.get<TargetRecord[]>('targets') ?? [];
      await cfg.update('targets', records.filter((r) => (r.name ?? r.host) !== item.name), vscode.ConfigurationTarget.Global);
    }),
  ];
  return { provider, disposables };
}
