// Strings a shell would misread if they were not quoted: each must reach the other side unchanged.
export const HOSTILE = [
  'plain', 'with space', '', "it's", '"double"', '$(touch /tmp/pockengine-pwned)', '`touch /tmp/pockengine-pwned`',
  'a;touch /tmp/pockengine-pwned', 'line1\nline2', '\n', 'tab\there', '$HOME', '${HOME}', '*', '~', '-n', '--', 'back\\slash',
  "'; rm -rf / #", 'a|b&c>d<e', '!!', 'ünïcödé ✓', "''''", '\\', 'x\r\ny',
];
