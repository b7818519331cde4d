// A layer update in the words the menus, the details panel and the status bar use. Shared by the host and
// the webview bundle (no node or vscode imports).

export type UpdateSpec = 'full' | 'bias' | 'frozen' | { channels: number };

const FRACTIONS: Record<number, string> = { 0.5: '½', 0.25: '¼', 0.125: '⅛' };

export function describeUpdate(u: UpdateSpec): string {
  if (typeof u === 'string') return u === 'bias' ? 'bias only' : u;
  return `channels ${FRACTIONS[u.channels] ?? u.channels}`;
}
