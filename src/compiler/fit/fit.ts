// Fit to a memory budget, end to end: contribution analysis (cached beside the model), the search under
// the budget with the real planner, and optionally the budget-versus-contribution curve. The CLI
// (`pockengine fit`) and the extension's "Fit to budget…" both call this.

import type { LoadedModel } from '../loadModel';
import type { Scheme } from '../sparse/scheme';
import type { LossSpec } from '../train/loss';
import type { DeviceProfile } from '../backends/profile';
import { getProfile } from '../backends/profiles';
import { ModelError } from '../onnx/errors';
import { analyzeContributions, defaultMethod, type AnalysisProgress, type ContributionMethod, type Contributions } from './contribution';
import { contribCachePath, contribKey, normalizeScores, readContribCache, writeContribCache } from './cache';
import { curveBudgets, searchBudget, searchContext, tradeOffCurve, type FitPoint, type SearchOptions } from './search';
import { updateUnits } from './units';

export interface FitOptions extends SearchOptions {
  /** Peak-memory budget in bytes; default: the target profile's memory. */
  budgetBytes?: number;
  target?: string | DeviceProfile;
  method?: ContributionMethod;
  steps?: number;
  lr?: number;
  batchnorm?: Scheme['batchnorm'];
  loss?: LossSpec;
  dims?: Record<string, number>;
  /** Also compute the trade-off curve over this many budgets (plus the requested one). */
  curvePoints?: number;
  /** Read and write `<model>.pockengine-contrib.json` (default true). */
  cache?: boolean;
  onProgress?: (p: AnalysisProgress) => void;
  signal?: AbortSignal;
}

export interface FitResult {
  contributions: Contributions;
  fromCache: boolean;
  cacheFile: string | null;
  budgetBytes: number;
  /** The chosen point: the curve's point at the requested budget. */
  best: FitPoint;
  /** Tightest budget first; empty unless curvePoints was given. */
  curve: FitPoint[];
  /** Real planned peaks of the frozen model (forward only) and of the full update. */
  frozenPeakBytes: number;
  fullPeakBytes: number;
  compiles: number;
}

/** Cached analysis when valid, else a fresh one (written to the cache). */
export async function contributionsFor(modelFile: string, loaded: LoadedModel, dataDir: string, o: FitOptions = {}): Promise<{ contributions: Contributions; fromCache: boolean; cacheFile: string | null }> {
  const settings = {
    method: o.method ?? defaultMethod(loaded), steps: o.steps ?? 3, lr: o.lr ?? 0.01,
    batchnorm: o.batchnorm ?? 'train', loss: o.loss ?? { kind: 'cross_entropy' },
  };
  const useCache = o.cache !== false && modelFile !== '';
  const key = useCache ? contribKey(modelFile, dataDir, settings) : '';
  if (useCache) {
    const hit = readContribCache(modelFile, key);
    if (hit) return { contributions: normalizeScores(hit), fromCache: true, cacheFile: contribCachePath(modelFile) };
  }
  const contributions = await analyzeContributions(loaded, dataDir, { ...settings, onProgress: o.onProgress, signal: o.signal });
  let cacheFile: string | null = null;
  if (useCache) {
    try {
      cacheFile = writeContribCache(modelFile, dataDir, key, contributions);
    } catch {
      cacheFile = null; // a read-only model folder: the analysis still stands, it is just not cached
    }
  }
  return { contributions, fromCache: false, cacheFile };
}

export async function fitToBudget(modelFile: string, loaded: LoadedModel, dataDir: string, o: FitOptions = {}): Promise<FitResult> {
  const target = o.target ?? 'host';
  const profile = typeof target === 'object' ? target : getProfile(target);
  const budgetBytes = o.budgetBytes ?? profile.memoryBytes;
  if (!(budgetBytes > 0)) throw new ModelError(`the budget must be a positive number of bytes, got ${budgetBytes}`);
  const { contributions, fromCache, cacheFile } = await contributionsFor(modelFile, loaded, dataDir, o);
  o.signal?.throwIfAborted();
  const ctx = searchContext(loaded, updateUnits(loaded), contributions, { target: profile, dims: o.dims });
  let curve: FitPoint[] = [];
  let best: FitPoint;
  if (o.curvePoints) {
    curve = tradeOffCurve(ctx, [...curveBudgets(ctx, o.curvePoints).filter((b) => b < budgetBytes), budgetBytes], o);
    const at = curve.find((p) => p.budgetBytes === budgetBytes);
    best = at ?? searchBudget(ctx, budgetBytes, o); // throws the clear error when nothing fits
  } else best = searchBudget(ctx, budgetBytes, o);
  return { contributions, fromCache, cacheFile, budgetBytes, best, curve, frozenPeakBytes: ctx.cost.frozenPeak, fullPeakBytes: ctx.fullPeak, compiles: ctx.compiles };
}

/** "1048576", "512MB", "1.5 GB", "300KiB": MB/GB/KB are powers of 1000, MiB/GiB/KiB of 1024. */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*$/i.exec(text);
  if (!m) throw new ModelError(`cannot read "${text}" as a size; write bytes (1048576) or a unit: 512MB, 1.5GB, 300KiB`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
  return Math.round(Number(m[1]) * mult[unit]);
}
