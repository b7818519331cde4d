// Scheme globs: `*` matches any run of characters (dots included), `?` one character; nothing else is
// special, so parameter names like "onnx::Conv_523" need no escaping.

const cache = new Map<string, RegExp>();

export function globToRegExp(glob: string): RegExp {
  let re = cache.get(glob);
  if (!re) {
    const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp(`^${body}$`);
    cache.set(glob, re);
  }
  return re;
}

export function globMatches(glob: string, name: string): boolean {
  return globToRegExp(glob).test(name);
}
