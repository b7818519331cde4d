// code-server (the real VS Code workbench served to a browser) as a cached tool install: `npm start` and
// the end-to-end test use it, the extension never depends on it. Installed once into
// `$POCKENGINE_TOOLS_DIR/code-server-<version>/` (default `.cache/tools/`) and reused afterwards.
//
//   node scripts/tools/codeServer.mjs            install if missing, print the entry script's path
//
// Installing it offline-ish takes care: code-server builds native modules (node-gyp against the local
// Node headers, apt `libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config`), and its
// `@vscode/ripgrep` postinstall downloads a binary from GitHub, which we satisfy by pre-filling the
// cache it looks in with Debian's `/usr/bin/rg`. Only the npm registry has to be reachable.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where cached tools live: `$POCKENGINE_TOOLS_DIR`, else `<repo>/.cache/tools`. */
export function toolsDir() {
  return path.resolve(process.env.POCKENGINE_TOOLS_DIR || path.join(repoRoot, '.cache', 'tools'));
}

export function codeServerDir() {
  return path.join(toolsDir(), `code-server-${CODE_SERVER_VERSION}`);
}

/** The script `node` runs to start code-server (its package's `bin`). */
export function codeServerEntry() {
  return path.join(codeServerDir(), 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

const markerFile = () => path.join(codeServerDir(), '.installed');

/**
 * Environment and leading arguments for every code-server run: its config file, logs and certificates go
 * under `stateDir` instead of the user's ~/.config and ~/.local/share.
 */
function codeServerInvocation(stateDir) {
  fs.mkdirSync(stateDir, { recursive: true });
  const config = path.join(stateDir, 'config.yaml');
  if (!fs.existsSync(config)) fs.writeFileSync(config, 'auth: none\ncert: false\n');
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(stateDir, 'xdg-config'), XDG_DATA_HOME: path.join(stateDir, 'xdg-data') };
  delete env.PASSWORD;
  delete env.HASHED_PASSWORD;
  return { env, args: [codeServerEntry(), '--config', config] };
}

// Native modules VS Code's server loads; if one is missing its build did not run and code-server
// fails later in confusing ways (terminals, file watching), so the install checks them up front.
// (@parcel/watcher ships prebuilt binaries as optional packages; argon2, for password auth, is
// code-server's own and unused with `--auth none`.)
const NATIVE_MODULES = [
  'lib/vscode/node_modules/node-pty/build/Release/pty.node',
  'lib/vscode/node_modules/@vscode/spdlog/build/Release/spdlog.node',
  'lib/vscode/node_modules/native-watchdog/build/Release/watchdog.node',
  'lib/vscode/node_modules/kerberos/build/Release/kerberos.node',
  'lib/vscode/node_modules/@vscode/ripgrep/bin/rg',
  'lib/vscode/node_modules.asar',
];
const APT_PACKAGES = 'libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config ripgrep';

/** Install code-server unless a verified install is already there. Returns the entry script. */
export async function ensureCodeServer({ log = (m) => console.error(m) } = {}) {
  if (isInstalled()) return codeServerEntry();
  const dir = codeServerDir();
  const lock = `${dir}.lock`;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  await acquireLock(lock, log);
  try {
    if (isInstalled()) return codeServerEntry(); // another process finished it while we waited
    await install(dir, log);
    return codeServerEntry();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function isInstalled() {
  return fs.existsSync(markerFile()) && fs.existsSync(codeServerEntry());
}

async function install(dir, log) {
  checkPrerequisites();
  log(`installing code-server ${CODE_SERVER_VERSION} into ${dir} (once; takes several minutes)…`);
  const started = Date.now();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'pockengine-tool-code-server', private: true, description: 'cached tool install, see scripts/tools/codeServer.mjs' }, null, 2),
  );
  const logFile = path.join(dir, 'install.log');
  const env = installEnv();

  const ripgrep = await prefillRipgrepCache(dir, env, logFile);
  log(`  ripgrep: @vscode/ripgrep ${ripgrep.packageVersion} wants ${ripgrep.asset}; served from /usr/bin/rg`);

  // --unsafe-perm: code-server's postinstall refuses to run as root without it; --foreground-scripts
  // makes the nested installs' output land in our log.
  await runLogged(
    'npm',
    ['install', '--unsafe-perm', '--foreground-scripts', '--no-audit', '--no-fund', '--no-save', `code-server@${CODE_SERVER_VERSION}`],
    { cwd: dir, env },
    logFile,
  );
  verify(dir, logFile);
  fs.writeFileSync(markerFile(), `${CODE_SERVER_VERSION}\n`);
  log(`  code-server installed in ${Math.round((Date.now() - started) / 1000)} s`);
}

function installEnv() {
  const env = { ...process.env, npm_config_yes: 'true', npm_config_unsafe_perm: 'true' };
  // node-gyp would download Node's headers from nodejs.org, which may be unreachable; Debian's nodejs
  // ships them under /usr/include/node.
  if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node.h') && process.execPath.startsWith('/usr/bin/')) {
    env.npm_config_nodedir = '/usr';
  }
  // `npm test`/`npm start` run this inside an npm script, whose variables describe *our* package; the
  // nested install must see its own (user settings such as npm_config_registry pass through).
  const scriptVars = /^npm_(package_|lifecycle_|command$|execpath$|node_execpath$|config_local_prefix$|config_user_agent$)/;
  for (const k of Object.keys(env)) if (scriptVars.test(k)) delete env[k];
  return env;
}

function checkPrerequisites() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 20) {
    throw new Error(`code-server ${CODE_SERVER_VERSION} needs Node 20 (its engines field); this is Node ${process.versions.node}.`);
  }
  const missing = [];
  if (!fs.existsSync('/usr/bin/rg')) missing.push('ripgrep (/usr/bin/rg)');
  const pc = spawnSync('pkg-config', ['--exists', 'krb5-gssapi', 'x11', 'xkbfile', 'libsecret-1']);
  if (pc.error || pc.status !== 0) missing.push('pkg-config with krb5-gssapi x11 xkbfile libsecret-1');
  if (missing.length) {
    throw new Error(
      `cannot build code-server's native modules: missing ${missing.join(', ')}. ` +
        `Install them with: apt-get install -y ${APT_PACKAGES} (or run .ci/run).`,
    );
  }
}

/**
 * @vscode/ripgrep's postinstall fetches `ripgrep-<tag>-<target>.tar.gz` from GitHub unless it finds it in
 * `os.tmpdir()/vscode-ripgrep-cache-<its version>/`. Read both numbers from the packages themselves (the
 * version code-server pins in its shrinkwrap, the tag in that version's postinstall) so an upgrade of
 * code-server keeps working, then put Debian's rg there under that name.
 */
async function prefillRipgrepCache(dir, env, logFile) {
  const packDir = path.join(dir, '.pack');
  fs.mkdirSync(packDir, { recursive: true });
  const csTgz = await npmPack(`code-server@${CODE_SERVER_VERSION}`, packDir, env, logFile);
  const shrinkwrap = JSON.parse(tarRead(csTgz, 'package/lib/vscode/npm-shrinkwrap.json'));
  const packageVersion = shrinkwrap.packages?.['node_modules/@vscode/ripgrep']?.version;
  if (!packageVersion) throw new Error(`code-server ${CODE_SERVER_VERSION}: no @vscode/ripgrep in lib/vscode/npm-shrinkwrap.json`);
  const rgTgz = await npmPack(`@vscode/ripgrep@${packageVersion}`, packDir, env, logFile);
  const postinstall = tarRead(rgTgz, 'package/lib/postinstall.js');
  const tag = /const VERSION = '([^']+)'/.exec(postinstall)?.[1];
  if (!tag) throw new Error(`@vscode/ripgrep ${packageVersion}: cannot find its ripgrep release tag in lib/postinstall.js`);
  const target = { x64: 'x86_64-unknown-linux-musl', arm64: 'aarch64-unknown-linux-musl' }[os.arch()];
  if (!target || os.platform() !== 'linux') throw new Error(`the code-server tool install supports Linux x64/arm64, not ${os.platform()} ${os.arch()}`);
  const asset = `ripgrep-${tag}-${target}.tar.gz`;
  const cacheDir = path.join(os.tmpdir(), `vscode-ripgrep-cache-${packageVersion}`);
  fs.mkdirSync(cacheDir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-rg-'));
  try {
    fs.copyFileSync('/usr/bin/rg', path.join(staging, 'rg'));
    fs.chmodSync(path.join(staging, 'rg'), 0o755);
    const r = spawnSync('tar', ['czf', path.join(cacheDir, asset), '-C', staging, 'rg']);
    if (r.status !== 0) throw new Error(`tar failed writing ${asset}: ${r.stderr}`);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  fs.rmSync(packDir, { recursive: true, force: true });
  return { packageVersion, asset };
}

async function npmPack(spec, dest, env, logFile) {
  const before = new Set(fs.readdirSync(dest));
  await runLogged('npm', ['pack', spec, '--pack-destination', dest], { cwd: dest, env }, logFile);
  const added = fs.readdirSync(dest).filter((f) => f.endsWith('.tgz') && !before.has(f));
  if (added.length !== 1) throw new Error(`npm pack ${spec} did not produce one tarball in ${dest}`);
  return path.join(dest, added[0]);
}

function tarRead(tgz, member) {
  const r = spawnSync('tar', ['xzOf', tgz, member], { maxBuffer: 64 << 20, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot read ${member} from ${tgz}: ${r.stderr}`);
  return r.stdout;
}

function runLogged(cmd, args, opts, logFile) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'a');
    fs.writeSync(out, `\n$ ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', out, out] });
    child.on('error', (e) => {
      fs.closeSync(out);
      reject(new Error(`${cmd} could not start: ${e.message}`));
    });
    child.on('close', (code) => {
      fs.closeSync(out);
      if (code === 0) resolve();
      else reject(new Error(`\`${cmd} ${args.join(' ')}\` failed (exit ${code}); is the npm registry reachable? Last lines of ${logFile}:\n${tail(logFile, 40)}`));
    });
  });
}

function tail(file, lines) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function verify(dir, logFile) {
  const pkg = path.join(dir, 'node_modules', 'code-server');
  const missing = NATIVE_MODULES.filter((m) => !fs.existsSync(path.join(pkg, m)));
  if (missing.length) {
    throw new Error(`code-server installed but its install scripts did not build: ${missing.join(', ')}. Log: ${logFile}\n${tail(logFile, 40)}`);
  }
  const run = codeServerInvocation(path.join(dir, '.state'));
  const r = spawnSync(process.execPath, [...run.args, '--version'], { encoding: 'utf8', timeout: 60_000, env: run.env });
  if (r.status !== 0 || !r.stdout.includes(CODE_SERVER_VERSION)) {
    throw new Error(`code-server does not start: \`code-server --version\` gave ${r.status}: ${r.stdout}${r.stderr}`);
  }
}

async function acquireLock(lock, log) {
  const deadline = Date.now() + 30 * 60_000;
  let told = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    const holder = Number(fs.readFileSync(path.join(lock, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0);
    if (holder && !processAlive(holder)) {
      fs.rmSync(lock, { recursive: true, force: true }); // left behind by a killed install
      continue;
    }
    if (!told) log(`waiting for another code-server install (pid ${holder || '?'}) to finish…`);
    told = true;
    if (Date.now() > deadline) throw new Error(`timed out waiting for the code-server install lock ${lock}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** `code-server --install-extension <vsix>` into a given extensions folder. */
export function installExtension(vsix, { extensionsDir, userDataDir }) {
  const run = codeServerInvocation(path.join(userDataDir, '.code-server'));
  const r = spawnSync(
    process.execPath,
    [...run.args, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', vsix, '--force'],
    { encoding: 'utf8', timeout: 180_000, env: run.env },
  );
  if (r.status !== 0) throw new Error(`code-server --install-extension ${vsix} failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/**
 * Start code-server on 127.0.0.1 without auth. Resolves once it answers HTTP, with the child process
 * and its URL; `stop()` ends it and its children (it runs in its own process group).
 */
export async function startCodeServer({ port, extensionsDir, userDataDir, folder, settings, onOutput, timeoutMs = 120_000 }) {
  if (settings) {
    fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
    fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  }
  const run = codeServerInvocation(path.join(userDataDir, '.code-server'));
  const args = [
    ...run.args,
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--extensions-dir', extensionsDir,
    '--user-data-dir', userDataDir,
  ];
  if (folder) args.push(folder);
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: run.env,
  });
  let output = '';
  const collect = (d) => {
    output = (output + d).slice(-64_000); // the recent part, for error messages; npm start runs for hours
    onOutput?.(String(d));
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const stop = () => stopProcessGroup(child);
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`code-server exited (${child.exitCode ?? child.signalCode}) before it served ${url}:\n${output}`);
    }
    try {
      const res = await fetch(`${url}healthz`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer on ${url} within ${timeoutMs / 1000} s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { child, url, stop, output: () => output };
}

/**
 * Open `file` in the browser window that code-server is serving (`code-server --reuse-window <file>`,
 * which goes through code-server's session socket to the window's extension host). Resolves false while
 * no window has connected yet.
 *
 * Why not the workbench URL's `?payload=[["openFile", uri]]`: the web workbench opens that file before
 * extensions are registered, and VS Code's editor resolver only waits for them when a browser-stored
 * cache of custom-editor patterns from an earlier session matches, so on a fresh profile the model opens
 * as binary text. Going through the running window, the resolver picks our custom editor.
 */
export function openInWindow(file, { userDataDir }) {
  const run = codeServerInvocation(path.join(userDataDir, '.code-server'));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...run.args, '--user-data-dir', userDataDir, '--reuse-window', file], { env: run.env, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', () => resolve(false));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

/** The workbench URL that opens `folder`. */
export function workbenchUrl(base, folder) {
  const u = new URL(base);
  u.searchParams.set('folder', folder);
  return u.toString();
}

/** SIGTERM the process group, then SIGKILL if it lingers. */
export function stopProcessGroup(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = (sig) => {
      try {
        process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    kill('SIGTERM');
  });
}

// Run directly: install if missing and print the entry script. (No top-level await: the TypeScript tests
// load this file through tsx's CommonJS path.)
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureCodeServer().then(
    (entry) => console.log(entry),
    (e) => {
      console.error(String(e.message ?? e));
      process.exit(1);
    },
  );
}
