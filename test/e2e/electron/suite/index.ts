// Runs inside desktop VS Code's extension host (loaded by @vscode/test-electron through `run()`): every
// model in the test workspace opens in the PockEngine custom editor and the extension activates. The
// webview's drawing is checked by the code-server suite, which can look inside the frame.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

const VIEW_TYPE = 'pockengine.graph';

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const checks: Array<[string, () => Promise<void>]> = [];
const check = (name: string, fn: () => Promise<void>) => checks.push([name, fn]);

const workspace = process.env.POCKENGINE_TEST_WORKSPACE ?? '';

check('the extension is installed from the development path', async () => {
  const ext = vscode.extensions.all.find((e) => e.packageJSON?.name === 'pockengine-studio');
  assert.ok(ext, 'pockengine-studio is not among the loaded extensions');
});

for (const file of fs.existsSync(workspace) ? fs.readdirSync(workspace).filter((f) => f.endsWith('.onnx')) : []) {
  check(`${file} opens in the PockEngine graph editor`, async () => {
    const uri = vscode.Uri.file(path.join(workspace, file));
    await vscode.commands.executeCommand('vscode.open', uri);
    const tab = await waitFor(`a tab for ${file}`, () => {
      const t = vscode.window.tabGroups.activeTabGroup.activeTab;
      return t?.input instanceof vscode.TabInputCustom && t.input.uri.fsPath === uri.fsPath ? t : undefined;
    });
    assert.equal((tab.input as vscode.TabInputCustom).viewType, VIEW_TYPE);
    const ext = vscode.extensions.all.find((e) => e.packageJSON?.name === 'pockengine-studio');
    await waitFor('the extension to activate', () => (ext?.isActive ? true : undefined));
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
}

export async function run(): Promise<void> {
  assert.ok(fs.existsSync(workspace), `POCKENGINE_TEST_WORKSPACE (${workspace}) does not exist`);
  const failures: string[] = [];
  for (const [name, fn] of checks) {
    try {
      await fn();
      console.log(`  ok  ${name}`);
    } catch (e) {
      console.log(`  FAIL ${name}: ${(e as Error).message}`);
      failures.push(name);
    }
  }
  console.log(`${checks.length - failures.length}/${checks.length} passed`);
  if (failures.length) throw new Error(`${failures.length} check(s) failed: ${failures.join('; ')}`);
}
