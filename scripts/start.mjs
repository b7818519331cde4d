// `npm start`: from a fresh clone to the extension running in a real VS Code. Installs what is missing
// (node_modules, the cached code-server), packages the extension (production build + vsce), generates the
// bundled sample model, installs the .vsix into a code-server whose user data and extensions live under
// .cache/code-server/, and serves it on 127.0.0.1 with the sample model open. Ctrl-C stops it.
//
// Only node built-ins are imported here, because this script runs before `npm ci`.
//   PORT=8080 npm start      a fixed port instead of a free one
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensurePrerequisites } from './tools/prereqs.mjs';
import { ensureCodeServer, freePort, installExtension, openInWindow, repoRoot, startCodeServer, workbenchUrl } from './tools/codeServer.mjs';

const sampleDir = path.join(repoRoot, 'samples', 'demo');
const sampleModel = path.join(sampleDir, 'model.onnx');
const vsix = path.join(repoRoot, 'dist', 'pockengine-studio.vsix');
const stateDir = path.join(repoRoot, '.cache', 'code-server');

const step = (m) => console.log(`\x1b[1m▸ ${m}\x1b[0m`);

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: repoRoot, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${what} failed (\`${cmd} ${args.join(' ')}\` exited ${r.status ?? r.signal})`);
}

/**
 * The user settings code-server starts with: ours where the user has not set a key, so their own
 * changes in the workbench survive the next `npm start`. A settings file we cannot parse (JSON with
 * comments) is left alone.
 */
function withDefaultSettings(file) {
  const defaults = {
    'workbench.startupEditor': 'none',
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    // samples/demo sits inside this repository; don't offer to open it in the Git view.
    'git.openRepositoryInParentFolders': 'never',
  };
  if (!fs.existsSync(file)) return defaults;
  try {
    return { ...defaults, ...JSON.parse(fs.readFileSync(file, 'utf8')) };
  } catch {
    return undefined;
  }
}

async function main() {
  step('prerequisites (Debian packages, node_modules)');
  ensurePrerequisites('start', (m) => console.log(`  ${m}`));

  step('code-server (cached tool install)');
  await ensureCodeServer({ log: (m) => console.log(`  ${m}`) });

  step('building and packaging the extension');
  run('npm', ['run', '--silent', 'package'], 'packaging');

  if (!fs.existsSync(sampleModel)) {
    step('generating the sample model');
    run(process.execPath, ['dist/cli.js', 'sample', 'demo', '--out', path.relative(repoRoot, sampleModel)], 'generating the sample (pockengine sample demo)');
  }
  if (!fs.existsSync(sampleModel)) throw new Error(`the sample generator did not write ${sampleModel}`);

  step('installing the .vsix into code-server');
  const userDataDir = path.join(stateDir, 'user-data');
  const extensionsDir = path.join(stateDir, 'extensions');
  installExtension(vsix, { extensionsDir, userDataDir });

  const port = process.env.PORT ? Number(process.env.PORT) : await freePort();
  step(`starting code-server on 127.0.0.1:${port}`);
  const server = await startCodeServer({
    port,
    extensionsDir,
    userDataDir,
    folder: sampleDir,
    settings: withDefaultSettings(path.join(userDataDir, 'User', 'settings.json')),
    onOutput: (s) => {
      if (process.env.POCKENGINE_VERBOSE) process.stderr.write(s);
      if (/ExtensionHostConnection\].*Launched Extension Host/.test(s)) void openSample();
    },
  });

  // When the first browser window's extension host is up, open the sample model in it (in our custom
  // editor; see openInWindow for why not through the URL).
  let sampleOpened = false;
  let opening = false;
  async function openSample() {
    if (sampleOpened || opening) return;
    opening = true;
    for (let attempt = 0; attempt < 40 && !sampleOpened; attempt++) {
      sampleOpened = await openInWindow(sampleModel, { userDataDir });
      if (!sampleOpened) await new Promise((r) => setTimeout(r, 1000));
    }
    opening = false;
    if (sampleOpened) console.log(`opened ${path.relative(repoRoot, sampleModel)} in the browser window`);
  }

  let stopping = false;
  const stop = async (sig) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${sig}: stopping code-server…`);
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  server.child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`code-server exited (${code ?? signal}). Its last output:\n${server.output().split('\n').slice(-20).join('\n')}`);
    process.exit(1);
  });

  console.log(`
PockEngine Studio is running in VS Code (code-server), serving ${path.relative(repoRoot, sampleDir)}/:

  ${workbenchUrl(server.url, sampleDir)}

Open that URL in a browser on this machine; the sample model opens in the graph view once the window
has loaded. Press Ctrl-C to stop.`);
}

main().catch((e) => {
  console.error(`npm start: ${e.message ?? e}`);
  process.exit(1);
});
