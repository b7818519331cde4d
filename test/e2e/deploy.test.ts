// End-to-end in a real VS Code (code-server, the packaged .vsix) against a real OpenSSH server on
// 127.0.0.1 (the deploy tests' throwaway sshd): the target `local` is added in the setting pockengine.targets
// (its host an alias of the ssh config named by pockengine.sshConfigFile, its working folder a temp folder)
// and shows in the Targets view; Deploy and Run… (command palette) on it with a host export of the MLP
// fixture, its data folder and 8 steps opens the Run panel, whose chart (inside the webview's iframes)
// draws the 8 points the remote `train` streams, with the losses the binary prints when run here. A second,
// endless run is ended with the panel's Stop, and its process is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { repoRoot } from '../../scripts/tools/codeServer.mjs';
import { startWorkbench } from './support/workbench';
import { exportTraining } from '../../src/compiler/export/exportTraining';
import { parseStepLine } from '../../src/compiler/deploy';
import { startSshd, type TestSshd } from '../compiler/ssh/sshd';

const fixture = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'mlp');
const STEPS = 8;

/** The Run panel's frame of the run with this many steps. */
async function runFrame(page: Page, steps: number, timeoutMs: number): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      if (await f.evaluate((n) => !!document.getElementById('run-title')?.title.endsWith(`, ${n} steps`), steps).catch(() => false)) return f;
    }
    await page.waitForTimeout(300);
  }
  throw new Error(`no Run panel within ${timeoutMs / 1000} s`);
}

/** Types into the open quick input and accepts (command palette, quick picks, input boxes). */
async function quickInput(page: Page, text: string | null): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 30_000 });
  if (text !== null) await input.fill(text);
  await page.waitForTimeout(400);
  await input.press('Enter');
}

test('code-server: the ssh config target deploys an export and the Run panel draws its steps live', { timeout: 10 * 60_000 }, async (t) => {
  let data = '';
  let local: NonNullable<ReturnType<typeof parseStepLine>>[] = [];
  let sshd: TestSshd | undefined;
  t.after(async () => { await sshd?.stop(); });
  const w = await startWorkbench(t, 'deploy-e2e', async ({ tmp, workspace }) => {
    const model = path.join(workspace, 'mlp.onnx');
    fs.copyFileSync(path.join(fixture, 'model.onnx'), model);
    data = path.join(workspace, 'data');
    fs.mkdirSync(data);
    for (const f of ['input_0.pb', 'labels.pb']) fs.copyFileSync(path.join(fixture, 'test_data', f), path.join(data, f));
    const exported = await exportTraining({ model, target: 'host', format: 'binary' });
    assert.ok(exported.binary, exported.buildSkipped);
    local = execFileSync(exported.binary, ['--data', data, '--steps', String(STEPS)], { encoding: 'utf8' }).split('\n').map(parseStepLine).filter((r) => r !== null);
    assert.equal(local.length, STEPS);
    sshd = await startSshd();
    return {
      'pockengine.sshConfigFile': sshd.sshConfigFile,
      'pockengine.targets': [{ name: 'local', host: 'local', workdir: path.join(tmp, 'remote') }],
    };
  });
  const { page, screenshot } = w;
  try {
    // The Targets view lists the ssh config's Host.
    await page.locator('.activitybar .action-label[aria-label^="PockEngine"]').first().click();
    await page.locator('.monaco-list-row', { hasText: 'local' }).first().waitFor({ timeout: 60_000 });
    await screenshot('deploy-targets.png');

    // Deploy and Run… from the command palette: target, export, data folder, steps.
    const deploy = async (steps: number): Promise<Frame> => {
      await page.keyboard.press('F1');
      await quickInput(page, '>PockEngine: Deploy and Run');
      await quickInput(page, 'local');
      await quickInput(page, 'mlp-host-export');
      // The open dialog (code-server's simple file dialog): type the folder, accept with its button.
      // The dialog may still be reading its start folder when typed into: retry until the steps box shows.
      const input = page.locator('.quick-input-widget .quick-input-box input');
      const stepsTitle = page.locator('.quick-input-widget .quick-input-title', { hasText: 'steps' });
      for (let attempt = 0; attempt < 5 && !(await stepsTitle.isVisible()); attempt++) {
        await input.waitFor({ state: 'visible', timeout: 30_000 });
        await input.fill(`${data}/`);
        await page.waitForTimeout(800);
        await page.locator('.quick-input-widget .monaco-button', { hasText: 'Use This Data' }).click();
        await stepsTitle.waitFor({ state: 'visible', timeout: 3000 }).catch(() => undefined);
      }
      await stepsTitle.waitFor({ state: 'visible', timeout: 5000 });
      await quickInput(page, String(steps));
      return runFrame(page, steps, 60_000);
    };
    const frame = await deploy(STEPS);
    await frame.waitForFunction((n) => document.getElementById('run-chart')?.dataset.drawn === String(n), STEPS, { timeout: 120_000 });
    await frame.waitForFunction(() => document.getElementById('run-status')?.dataset.state === 'finished', undefined, { timeout: 60_000 });
    const last = local[local.length - 1];
    const text = (await frame.locator('#run-last').textContent()) ?? '';
    assert.ok(text.includes(`step ${last.step} · loss ${last.loss.toPrecision(5)}`), `the panel shows the binary's last loss: ${text}`);
    await screenshot('deploy-run.png');

    // An endless run: Stop ends the remote process.
    const endless = 100_000_000;
    const running = (): boolean => {
      try {
        return execFileSync('pgrep', ['-f', '--', `train --data data --steps ${endless}`], { encoding: 'utf8' }).trim() !== '';
      } catch {
        return false; // pgrep exits 1 when nothing matches
      }
    };
    const second = await deploy(endless);
    await second.waitForFunction(() => Number(document.getElementById('run-chart')?.dataset.points) > 20, undefined, { timeout: 60_000 });
    assert.ok(running(), 'the endless run is running on the target');
    await second.locator('#btn-stop').click();
    await second.waitForFunction(() => document.getElementById('run-status')?.dataset.state === 'stopped', undefined, { timeout: 60_000 });
    assert.ok(!running(), 'Stop ended the remote train process');
    await screenshot('deploy-stopped.png');
  } catch (e) {
    await screenshot('deploy-failure.png');
    throw e;
  }
});
