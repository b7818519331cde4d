// Remote commands are strings that the remote login shell parses, so every argument that reaches it is
// quoted here: POSIX single quotes keep every byte literal (spaces, $, backticks, newlines, ;) and the
// only character they cannot hold, the single quote itself, is closed, escaped and reopened.

/** One argument, quoted so a POSIX shell reads it back byte for byte. */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('a shell argument cannot contain a NUL byte');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** An argument vector as one shell command line: the words are the arguments, nothing else. */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('an empty command');
  return argv.map(shellQuote).join(' ');
}
