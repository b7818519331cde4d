// The analysis is cached beside the model as `<model>.pockengine-contrib.json` (format in docs/fit.md),
// keyed by a SHA-256 of the model file, the data folder's batch files and the analysis settings: any
// change to one of them makes the cache stale and the analysis runs again.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { Contributions } from './contribution';

export const CONTRIB_FORMAT = 'pockengine-contrib/1';

export interface ContributionCacheFile {
  format: typeof CONTRIB_FORMAT;
  key: string;
  model: string;
  data: string;
  createdAt: string;
  contributions: Contributions;
}

export function contribCachePath(modelFile: string): string {
  return `${modelFile}.pockengine-contrib.json`;
}

/** Hash of the model bytes, the batch files (input_K.pb, labels.pb, by name) and the settings. */
export function contribKey(modelFile: string, dataDir: string, settings: Record<string, unknown>): string {
  const h = createHash('sha256');
  h.update(fs.readFileSync(modelFile));
  const files = fs.existsSync(dataDir) ? fs.readdirSync(dataDir).filter((f) => /^input_\d+\.pb$/.test(f) || f === 'labels.pb').sort() : [];
  for (const f of files) {
    h.update(`\0${f}\0`);
    h.update(fs.readFileSync(path.join(dataDir, f)));
  }
  h.update(`\0settings\0${JSON.stringify(settings, Object.keys(settings).sort())}`);
  return h.digest('hex');
}

/** The cached analysis when the file exists, parses, and was made for this key; null otherwise. */
export function readContribCache(modelFile: string, key: string): Contributions | null {
  const file = contribCachePath(modelFile);
  try {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as ContributionCacheFile;
    if (doc.format !== CONTRIB_FORMAT || doc.key !== key || !Array.isArray(doc.contributions?.units)) return null;
    return doc.contributions;
  } catch {
    return null;
  }
}

export function writeContribCache(modelFile: string, dataDir: string, key: string, c: Contributions): string {
  const file = contribCachePath(modelFile);
  // JSON has no -Infinity: a diverged option is stored as null and read back as -Infinity by loadScores.
  const doc: ContributionCacheFile = { format: CONTRIB_FORMAT, key, model: path.basename(modelFile), data: path.resolve(dataDir), createdAt: new Date().toISOString(), contributions: c };
  fs.writeFileSync(file, JSON.stringify(doc, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1) + '\n');
  return file;
}

/** Scores read from JSON: a null (diverged) score is -Infinity again. */
export function normalizeScores(c: Contributions): Contributions {
  for (const u of c.units) for (const o of u.options) if (o.score === null) o.score = -Infinity;
  return c;
}
