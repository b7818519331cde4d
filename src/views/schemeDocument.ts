// The scheme file as text: what a layer action or a preset does to `<model>.pockengine.json`, as one
// minimal text edit, so the editor applies it as a WorkspaceEdit (undoable, the user's formatting kept).
// Free of `vscode`: the browser test and the node test drive it directly.
//
// Setting a layer's update drops the rules written for the layer itself and for layers inside it (the
// action means "this layer, all of it"), then either rewrites the layer's own rule in place — when no
// later rule can override it — or appends a rule at the end (the last match wins). Everything outside the
// touched rules keeps its bytes: the edit is cut down to the span that differs.

import * as path from 'node:path';
import { globMatches } from '../compiler/sparse/glob';
export { describeUpdate } from './schemeWords';
import { parseScheme, serializeScheme, SchemeError, type LayerUpdate, type Scheme } from '../compiler/sparse/scheme';

export interface TextEdit {
  offset: number;
  length: number;
  text: string;
}

/** `<dir>/<model>.pockengine.json` for `<dir>/<model>.onnx`. */
export function schemePathFor(modelPath: string): string {
  const base = path.basename(modelPath).replace(/\.onnx$/i, '');
  return path.join(path.dirname(modelPath), `${base}.pockengine.json`);
}

/** What a model trains with when it has no scheme file. */
export const DEFAULT_SCHEME: Scheme = { default: 'full', batchnorm: 'train', rules: [] };

// ---- a JSON parser that keeps offsets ----

type JNode =
  | { kind: 'object'; start: number; end: number; props: { key: string; keyStart: number; value: JNode }[] }
  | { kind: 'array'; start: number; end: number; items: JNode[] }
  | { kind: 'value'; start: number; end: number; value: unknown };

function parseWithOffsets(text: string): JNode {
  let i = 0;
  const fail = (what: string): never => {
    const line = text.slice(0, i).split('\n').length;
    throw new SchemeError(`the scheme is not valid JSON: ${what} at line ${line}`);
  };
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): JNode => {
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const props: { key: string; keyStart: number; value: JNode }[] = [];
      ws();
      if (text[i] === '}') return { kind: 'object', start, end: ++i, props };
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a property name');
        const keyStart = i;
        const key = str();
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        props.push({ key, keyStart, value: value() });
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') return { kind: 'object', start, end: ++i, props };
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const items: JNode[] = [];
      ws();
      if (text[i] === ']') return { kind: 'array', start, end: ++i, items };
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') return { kind: 'array', start, end: ++i, items };
        fail('expected "," or "]"');
      }
    }
    if (c === '"') {
      const v = str();
      return { kind: 'value', start, end: i, value: v };
    }
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) fail('unexpected character');
    i += m![0].length;
    return { kind: 'value', start, end: i, value: JSON.parse(m![0]) };
  };
  const root = value();
  ws();
  if (i < text.length) fail('unexpected text after the document');
  return root;
}

// ---- edits ----

/** One edit turning `before` into `after`, cut to the span that differs. */
export function minimalEdit(before: string, after: string): TextEdit | null {
  if (before === after) return null;
  let p = 0;
  const max = Math.min(before.length, after.length);
  while (p < max && before[p] === after[p]) p++;
  let s = 0;
  while (s < max - p && before[before.length - 1 - s] === after[after.length - 1 - s]) s++;
  return { offset: p, length: before.length - p - s, text: after.slice(p, after.length - s) };
}

export function applyEdit(text: string, e: TextEdit | null): string {
  return e ? text.slice(0, e.offset) + e.text + text.slice(e.offset + e.length) : text;
}

function updateJson(u: LayerUpdate): string {
  return typeof u === 'string' ? JSON.stringify(u) : `{ "channels": ${u.channels} }`;
}

function lineIndent(text: string, offset: number): string {
  const ls = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(ls))![0];
}

/** A rule in the style of the document's other rules: one line, or JSON.stringify's block form. */
function ruleText(layer: string, u: LayerUpdate, multiline: boolean, indent: string, unit: string): string {
  if (!multiline) return `{ "match": ${JSON.stringify(layer)}, "update": ${updateJson(u)} }`;
  return `{\n${indent}${unit}"match": ${JSON.stringify(layer)},\n${indent}${unit}"update": ${updateJson(u)}\n${indent}}`;
}

const isInside = (match: string, layer: string): boolean => layer === '' || match === layer || match.startsWith(layer + '.');

function ancestorsAndSelf(layer: string): string[] {
  const out = [layer];
  for (let l = layer; l.includes('.'); ) out.push((l = l.slice(0, l.lastIndexOf('.'))));
  return out;
}

/**
 * The scheme text after setting `layer` (dotted path; '' = the whole model) to `update`. `text` null or
 * blank: there is no scheme file yet, and it starts from DEFAULT_SCHEME. Throws SchemeError when the text
 * is not a valid scheme (the user fixes the file first).
 */
export function setLayerUpdate(text: string | null, layer: string, update: LayerUpdate): string {
  const src = text && text.trim() ? text : serializeScheme(DEFAULT_SCHEME);
  const root = parseWithOffsets(src);
  parseScheme(JSON.parse(src)); // validates fields; the edit must not build on an invalid scheme
  if (root.kind !== 'object') throw new SchemeError('a scheme must be a JSON object');
  if (layer === '') {
    // The whole model: the default, with every rule dropped.
    const scheme = parseScheme(JSON.parse(src));
    return replaceSchemeKeepingExtras(src, { ...scheme, default: update, rules: [] });
  }
  const rulesProp = root.props.find((p) => p.key === 'rules');
  const unit = detectUnit(src);
  if (!rulesProp) {
    // No rules yet: add the property after the last one.
    const last = root.props[root.props.length - 1];
    const indent = last ? lineIndent(src, last.keyStart) : unit;
    const rule = ruleText(layer, update, false, indent + unit, unit);
    const insert = `${last ? ',' : ''}\n${indent}"rules": [\n${indent}${unit}${rule}\n${indent}]`;
    const at = last ? last.value.end : root.start + 1;
    return src.slice(0, at) + insert + (last ? '' : '\n') + src.slice(at);
  }
  const arr = rulesProp.value;
  if (arr.kind !== 'array') throw new SchemeError('"rules" must be an array');
  const matchOf = (n: JNode): string | null => {
    if (n.kind !== 'object') return null;
    const m = n.props.find((p) => p.key === 'match')?.value;
    return m && m.kind === 'value' && typeof m.value === 'string' ? m.value : null;
  };
  const items = arr.items;
  const own = items.map((n) => matchOf(n)).map((m) => m !== null && isInside(m, layer));
  const exact = items.map((n) => matchOf(n) === layer).lastIndexOf(true);
  const selfNames = ancestorsAndSelf(layer);
  const overriddenLater = (k: number): boolean =>
    items.slice(k + 1).some((n, j) => {
      const m = matchOf(n);
      return !own[k + 1 + j] && m !== null && selfNames.some((name) => globMatches(m, name));
    });
  const keep = items.filter((_, k) => !own[k] || k === exact);
  const inPlace = exact >= 0 && !overriddenLater(exact);

  const itemIndent = items.length ? lineIndent(src, items[0].start) : lineIndent(src, rulesProp.keyStart) + unit;
  const multiline = items.length ? src.slice(items[0].start, items[0].end).includes('\n') : false;
  const newRule = ruleText(layer, update, multiline, itemIndent, unit);
  const pieces: string[] = [];
  for (const n of keep) {
    if (items.indexOf(n) === exact) {
      if (!inPlace) continue;
      const u = n.kind === 'object' ? n.props.find((p) => p.key === 'update')?.value : undefined;
      pieces.push(u ? src.slice(n.start, u.start) + updateJson(update) + src.slice(u.end, n.end) : newRule);
    } else pieces.push(src.slice(n.start, n.end));
  }
  if (!inPlace) pieces.push(newRule);
  // Between rules: as the document separates them; a one-line array stays one line.
  const sep = items.length >= 2 ? src.slice(items[0].end, items[1].start)
    : items.length === 1 && !src.slice(arr.start, items[0].start).includes('\n') ? ', ' : `,\n${itemIndent}`;
  if (items.length === 0) {
    const outer = lineIndent(src, rulesProp.keyStart);
    return src.slice(0, arr.start) + `[\n${itemIndent}${pieces.join(sep)}\n${outer}]` + src.slice(arr.end);
  }
  const open = src.slice(arr.start, items[0].start);
  const close = src.slice(items[items.length - 1].end, arr.end);
  return src.slice(0, arr.start) + open + pieces.join(sep) + close + src.slice(arr.end);
}

/** A whole new scheme (a preset), keeping the document's `$schema` and `comment` fields. */
export function replaceSchemeKeepingExtras(text: string | null, scheme: Scheme): string {
  let extras: Record<string, unknown> = {};
  try {
    const doc = text && text.trim() ? (JSON.parse(text) as Record<string, unknown>) : {};
    extras = Object.fromEntries(Object.entries(doc).filter(([k]) => k === '$schema' || k === 'comment'));
  } catch {
    // an unparsable file is replaced whole
  }
  const unit = text ? detectUnit(text) : '  ';
  const body = { ...extras, default: scheme.default, batchnorm: scheme.batchnorm, rules: scheme.rules };
  return JSON.stringify(body, null, unit) + '\n';
}

/** The document's indentation unit (two spaces when it has none). */
function detectUnit(text: string): string {
  const m = /\n([ \t]+)\S/.exec(text);
  return m ? m[1] : '  ';
}
