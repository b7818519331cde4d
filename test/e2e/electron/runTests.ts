// `npm run test:electron`: the extension in desktop VS Code through @vscode/test-electron, as extension
// authors run it. It needs a VS Code binary: set VSCODE_EXECUTABLE to it (or pass --download to let
// test-electron fetch one, where the network allows). CI here cannot download VS Code, so `npm test` runs the
// code-server suite (test/e2e/codeServer.test.ts) instead; this runner is not a *.test.ts file on purpose.
import { runTests } from '@vscode/test-electron';
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');

async function main(): Promise<number> {
  const executable = process.env.VSCODE_EXECUTABLE;
  const download = process.argv.includes('--download');
  if (!executable && !download) {
    console.error(
      'test:electron needs desktop VS Code: set VSCODE_EXECUTABLE=/path/to/code (or pass --download to fetch one).\n' +
        'Without it, the code-server end-to-end suite in `npm test` covers the extension in a real VS Code.',
    );
    return 2;
  }
  if (executable && !fs.existsSync(executable)) {
    console.error(`VSCODE_EXECUTABLE=${executable} does not exist`);
    return 2;
  }

  // The suite runs inside VS Code's extension host, which loads CommonJS: bundle it, `vscode` external.
  const outDir = path.join(repoRoot, 'out', 'e2e-electron');
  await esbuild.build({
    entryPoints: [path.join(here, 'suite', 'index.ts')],
    outfile: path.join(outDir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    sourcemap: true,
    logLevel: 'warning',
  });

  const fixtures = path.resolve(repoRoot, '..', 'shared', 'fixtures');
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-electron-'));
  for (const name of ['mlp', 'mobilenetv2_035']) {
    fs.copyFileSync(path.join(fixtures, name, 'model.onnx'), path.join(workspace, `${name}.onnx`));
  }
  try {
    await runTests({
      vscodeExecutablePath: executable,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: path.join(outDir, 'index.js'),
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
      extensionTestsEnv: { POCKENGINE_TEST_WORKSPACE: workspace },
    });
    return 0;
  } catch (e) {
    console.error(`desktop VS Code tests failed: ${(e as Error).message ?? e}`);
    return 1;
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code));
