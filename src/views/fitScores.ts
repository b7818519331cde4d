// Per-layer contribution scores for the Layers tree, from the cached analysis beside the model
// (`<model>.pockengine-contrib.json`, written by Fit to budget… and `pockengine fit`). A layer that is an
// update unit shows its best option's score; a parent layer the sum of its units' best scores. Read only
// when the file changed (mtime), so drawing the tree stays cheap. Free of `vscode`.

import * as fs from 'node:fs';
import { contribCachePath, type ContributionCacheFile } from '../compiler/fit/cache';

export interface LayerScore {
  score: number;
  option: string | null;
}

const memo = new Map<string, { mtimeMs: number; units: Map<string, LayerScore> }>();

/** Best score per update unit of the cached analysis, or null when there is none. */
export function cachedUnitScores(modelPath: string): Map<string, LayerScore> | null {
  const file = contribCachePath(modelPath);
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    memo.delete(modelPath);
    return null;
  }
  const hit = memo.get(modelPath);
  if (hit && hit.mtimeMs === st.mtimeMs) return hit.units;
  let doc: ContributionCacheFile;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8')) as ContributionCacheFile;
  } catch {
    return null;
  }
  const units = new Map<string, LayerScore>();
  for (const u of doc.contributions?.units ?? []) {
    let best: LayerScore = { score: 0, option: null };
    for (const o of u.options) if (typeof o.score === 'number' && o.score > best.score) best = { score: o.score, option: o.option };
    units.set(u.unit, best);
  }
  memo.set(modelPath, { mtimeMs: st.mtimeMs, units });
  return units;
}

/** The score of a layer: its own unit's, else the sum over the units inside it; null without an analysis. */
export function layerScore(modelPath: string, layer: string): LayerScore | null {
  const units = cachedUnitScores(modelPath);
  if (!units) return null;
  const own = units.get(layer);
  if (own) return own;
  let sum = 0;
  let any = false;
  for (const [id, s] of units) {
    if (layer === '' || id.startsWith(`${layer}.`) || id.startsWith(`${layer}/`)) {
      sum += s.score;
      any = true;
    }
  }
  return any ? { score: sum, option: null } : null;
}

/** " · contrib 0.0123 (full)" for a tree item's description; '' without an analysis. */
export function layerScoreSuffix(modelPath: string, layer: string): string {
  const s = layerScore(modelPath, layer);
  if (!s) return '';
  return ` · contrib ${s.score.toPrecision(3)}${s.option ? ` (${s.option})` : ''}`;
}
