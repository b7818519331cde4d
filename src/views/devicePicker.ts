// The device the plan views follow: a status bar item showing the profile and the estimated step time of the
// active model, and the command `pockengine.selectDevice` (a QuickPick of the device profiles). The choice
// and the per-model backend overrides persist in the workspace state; every open plan view follows them.

import * as vscode from 'vscode';
import type { BackendOverrides } from '../compiler/backends/assign';
import { allProfiles, isProfileName } from '../compiler/backends/profiles';
import type { GraphEditorProvider } from './graphEditor';
import { planSettings } from './planSettings';

const DEVICE_KEY = 'pockengine.device';
const OVERRIDES_KEY = 'pockengine.backendOverrides';

export function registerDevicePicker(context: vscode.ExtensionContext, editors: GraphEditorProvider): vscode.Disposable[] {
  const state = context.workspaceState;
  planSettings.install({
    device: () => {
      const d = state.get<string>(DEVICE_KEY, 'host');
      return isProfileName(d) ? d : 'host';
    },
    setDevice: (name) => void state.update(DEVICE_KEY, name),
    overrides: (model) => state.get<Record<string, BackendOverrides>>(OVERRIDES_KEY, {})[model] ?? {},
    setOverrides: (model, o) => {
      const all = { ...state.get<Record<string, BackendOverrides>>(OVERRIDES_KEY, {}) };
      if (!(o.ops && Object.keys(o.ops).length) && !(o.layers && o.layers.length)) delete all[model];
      else all[model] = o;
      void state.update(OVERRIDES_KEY, all);
    },
  });

  const item = vscode.window.createStatusBarItem('pockengine.device', vscode.StatusBarAlignment.Left, 49);
  item.name = 'PockEngine device profile';
  item.command = 'pockengine.selectDevice';
  const refresh = (): void => {
    const p = allProfiles().find((x) => x.name === planSettings.device);
    item.text = `$(circuit-board) ${p?.name ?? planSettings.device}`;
    item.tooltip = `Device profile for the plan views: ${p?.displayName ?? planSettings.device}. Click to choose another.`;
    if (editors.activeGraph) item.show();
    else item.hide();
  };
  refresh();
  const pick = vscode.commands.registerCommand('pockengine.selectDevice', async (name?: string) => {
    if (typeof name === 'string' && isProfileName(name)) {
      planSettings.setDevice(name);
      return refresh();
    }
    const items = allProfiles().map((p) => ({
      label: p.name, description: p.displayName,
      detail: p.units.map((u) => u.displayName).join(' + '),
      picked: p.name === planSettings.device,
    }));
    const chosen = await vscode.window.showQuickPick(items, { title: 'PockEngine: device profile for the plan (schedule, memory, backends)', placeHolder: planSettings.device });
    if (chosen) planSettings.setDevice(chosen.label);
    refresh();
  });
  const unsubscribe = planSettings.onDidChange(() => refresh());
  return [item, pick, editors.onDidChangeActive(refresh), { dispose: unsubscribe }];
}
