// Update schemes: which parameters a training step updates, and how. The JSON form is stable API, saved
// beside the model as `<model>.pockengine.json`:
//   {"default": "frozen", "batchnorm": "train" | "frozen",
//    "rules": [{"match": "<glob>", "update": "full" | "bias" | "frozen" | {"channels": 0.25}}]}
// Rules apply in order and the last match wins; a rule matches a parameter when its glob matches the
// parameter's name or the name of the parameter's layer or any ancestor layer.

import { globMatches } from './glob';

export type LayerUpdate = 'full' | 'bias' | 'frozen' | { channels: number };

export interface SchemeRule {
  match: string;
  update: LayerUpdate;
}

export interface Scheme {
  default: LayerUpdate;
  batchnorm: 'train' | 'frozen';
  rules: SchemeRule[];
}

export class SchemeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemeError';
  }
}

function parseUpdate(u: unknown, where: string): LayerUpdate {
  if (u === 'full' || u === 'bias' || u === 'frozen') return u;
  if (u && typeof u === 'object' && !Array.isArray(u)) {
    const keys = Object.keys(u);
    const r = (u as { channels?: unknown }).channels;
    if (keys.length === 1 && typeof r === 'number' && r > 0 && r <= 1) return { channels: r };
    throw new SchemeError(`${where}: {"channels": r} needs r in (0, 1], got ${JSON.stringify(u)}`);
  }
  throw new SchemeError(`${where}: update must be "full", "bias", "frozen" or {"channels": r}, got ${JSON.stringify(u)}`);
}

/** Validates a scheme document (already parsed JSON); the error says which field is wrong. */
export function parseScheme(doc: unknown): Scheme {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new SchemeError('a scheme must be a JSON object');
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) {
    if (!['default', 'batchnorm', 'rules', '$schema', 'comment'].includes(k)) throw new SchemeError(`unknown scheme field "${k}"`);
  }
  const dflt = d.default === undefined ? 'frozen' : parseUpdate(d.default, '"default"');
  const bn = d.batchnorm ?? 'train';
  if (bn !== 'train' && bn !== 'frozen') throw new SchemeError(`"batchnorm" must be "train" or "frozen", got ${JSON.stringify(bn)}`);
  const rulesRaw = d.rules ?? [];
  if (!Array.isArray(rulesRaw)) throw new SchemeError('"rules" must be an array');
  const rules = rulesRaw.map((r, i): SchemeRule => {
    if (!r || typeof r !== 'object') throw new SchemeError(`rules[${i}] must be an object`);
    const { match, update } = r as { match?: unknown; update?: unknown };
    if (typeof match !== 'string' || match === '') throw new SchemeError(`rules[${i}].match must be a non-empty glob string`);
    return { match, update: parseUpdate(update, `rules[${i}].update`) };
  });
  return { default: dflt, batchnorm: bn, rules };
}

export function parseSchemeText(text: string): Scheme {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SchemeError(`the scheme is not valid JSON: ${(e as Error).message}`);
  }
  return parseScheme(doc);
}

/** The layer update that applies to a parameter of `layer` (dotted path) named `param`. */
export function updateFor(scheme: Scheme, param: string, layer: string): LayerUpdate {
  const names = [param];
  for (let l = layer; l !== ''; l = l.includes('.') ? l.slice(0, l.lastIndexOf('.')) : '') names.push(l);
  let u = scheme.default;
  for (const r of scheme.rules) if (names.some((n) => globMatches(r.match, n))) u = r.update;
  return u;
}

export function serializeScheme(s: Scheme): string {
  return JSON.stringify({ default: s.default, batchnorm: s.batchnorm, rules: s.rules }, null, 2) + '\n';
}
