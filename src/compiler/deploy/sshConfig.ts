// Reads the Host entries of an OpenSSH client config file (`~/.ssh/config` or the file the user names), to
// list them as targets. ssh itself still applies the file when it connects (we pass `-F`); this parser only
// has to be right about what the user sees: the aliases and their HostName, User, Port and IdentityFile,
// with ssh's rule that the first value obtained for a keyword wins.

export interface SshConfigHost {
  /** The alias, as written after `Host`: what the user types as `--target`. */
  alias: string;
  hostName?: string;
  user?: string;
  port?: number;
  identityFile?: string;
  /** 1-based line of the `Host` line that names this alias. */
  line: number;
}

export interface SshConfigFile {
  hosts: SshConfigHost[];
  /** Things read but not followed (Include, Match), for the user to see. */
  notes: string[];
}

interface Block {
  patterns: string[];
  line: number;
  /** Lower-cased keyword → first value in this block. */
  values: Map<string, string>;
}

/** `Key value`, `Key=value`, `Key "quoted value"`; comments and blank lines give null. */
function splitLine(raw: string): { key: string; args: string[] } | null {
  const line = raw.trim();
  if (!line || line.startsWith('#')) return null;
  const m = /^([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+)(.*)$/.exec(line);
  if (!m) return { key: line.toLowerCase(), args: [] };
  const args: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let t: RegExpExecArray | null;
  while ((t = re.exec(m[2]))) {
    if (t[2]?.startsWith('#')) break;
    args.push(t[1] ?? t[2]);
  }
  return { key: m[1].toLowerCase(), args };
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** ssh's Host matching: any positive pattern matches and no negated (`!`) one does. */
export function hostMatches(patterns: readonly string[], alias: string): boolean {
  let hit = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (globToRegExp(p.slice(1)).test(alias)) return false;
    } else if (globToRegExp(p).test(alias)) hit = true;
  }
  return hit;
}

const isWildcard = (p: string) => p.startsWith('!') || /[*?]/.test(p);

export function parseSshConfig(text: string, file = 'ssh config'): SshConfigFile {
  const blocks: Block[] = [];
  const notes: string[] = [];
  // Lines before the first Host apply to every host, like `Host *`.
  let current: Block | null = { patterns: ['*'], line: 0, values: new Map() };
  blocks.push(current);
  text.split(/\r?\n/).forEach((raw, i) => {
    const parsed = splitLine(raw);
    if (!parsed) return;
    const { key, args } = parsed;
    if (key === 'host') {
      current = { patterns: args, line: i + 1, values: new Map() };
      blocks.push(current);
    } else if (key === 'match') {
      notes.push(`${file}:${i + 1}: Match blocks are not evaluated here (ssh still applies them when it connects)`);
      current = null;
    } else if (key === 'include') {
      notes.push(`${file}:${i + 1}: Include ${args.join(' ')} is not followed when listing targets (ssh still reads it when it connects)`);
    } else if (current && args.length && !current.values.has(key)) {
      current.values.set(key, args.join(' '));
    }
  });
  const hosts: SshConfigHost[] = [];
  const seen = new Set<string>();
  for (const b of blocks) {
    for (const alias of b.patterns) {
      if (isWildcard(alias) || seen.has(alias)) continue;
      seen.add(alias);
      const get = (k: string) => {
        for (const o of blocks) if (hostMatches(o.patterns, alias) && o.values.has(k)) return o.values.get(k);
        return undefined;
      };
      const port = get('port');
      hosts.push({
        alias, line: b.line, hostName: get('hostname'), user: get('user'), identityFile: get('identityfile'),
        port: port === undefined ? undefined : Number(port),
      });
    }
  }
  return { hosts, notes };
}
