// Fit to a memory budget on MobileNetV2 (fixture: width 0.35, batch 2, 96x96): contribution analysis
// (gradnorm: one backward pass; measured on one unit to show what the full measured analysis would cost)
// and the search at a budget between the bias-only and the full update's planned peaks, then the 8-point
// trade-off curve. Goal (issue 8): "seconds to minutes on the sample data".
import * as path from 'node:path';
import { loadModel } from '../src/compiler/loadModel';
import { compile } from '../src/compiler/compile';
import { analyzeContributions } from '../src/compiler/fit/contribution';
import { curveBudgets, searchBudget, searchContext, tradeOffCurve } from '../src/compiler/fit/search';
import { updateUnits } from '../src/compiler/fit/units';
import { applyScheme } from '../src/compiler/sparse/applyScheme';
import { TrainingSession } from '../src/compiler/train/session';
import { readBatch } from '../src/compiler/train/data';

const fixtures = path.resolve(__dirname, '..', '..', 'shared', 'fixtures');
const file = path.join(fixtures, 'mobilenetv2_035', 'model.onnx');
const data = path.join(fixtures, 'mobilenetv2_035', 'test_data');
const mb = (b: number): string => `${(b / 1e6).toFixed(3)} MB`;

(async () => {
  const loaded = loadModel(file);
  const units = updateUnits(loaded);
  const peakOf = (scheme: string): number => compile(loaded, { scheme, compare: 'none' }).memory.peakBytes;
  const bias = peakOf('bias-only'), full = peakOf('full');
  const budget = Math.round((bias + full) / 2);

  let t0 = performance.now();
  const contrib = await analyzeContributions(loaded, data, { method: 'gradnorm' });
  const tAnalysis = performance.now() - t0;
  t0 = performance.now();
  const ctx = searchContext(loaded, units, contrib);
  const best = searchBudget(ctx, budget);
  const tSearch = performance.now() - t0;
  const compilesSearch = ctx.compiles;
  t0 = performance.now();
  const curve = tradeOffCurve(ctx, [...curveBudgets(ctx, 8), budget]);
  const tCurve = performance.now() - t0;

  // One measured option (3 SGD steps + a loss) times the option count: the measured analysis' cost here.
  const u = units[units.length - 1];
  t0 = performance.now();
  const { tg } = applyScheme(loaded, { default: 'frozen', batchnorm: 'train', rules: u.match.map((m) => ({ match: m, update: 'full' as const })) }, { optimizer: { kind: 'sgd', lr: 0.01 } });
  const s = new TrainingSession(tg);
  const feeds = readBatch(data, tg);
  for (let k = 0; k < 3; k++) s.step(feeds);
  s.loss(feeds);
  const tOne = performance.now() - t0;
  const options = units.reduce((a, x) => a + x.options.length, 0);

  console.log(`MobileNetV2: ${units.length} units, ${options} options; planned peak bias-only ${mb(bias)}, full ${mb(full)}, forward only ${mb(ctx.cost.frozenPeak)}`);
  console.log(`analysis (gradnorm, one backward)      ${tAnalysis.toFixed(0).padStart(7)} ms`);
  console.log(`search at ${mb(budget)}              ${tSearch.toFixed(0).padStart(7)} ms   (${compilesSearch} compiles incl. frozen and full; peak ${mb(best.peakBytes)}, ${best.choices.length} units, contribution ${best.contribution.toPrecision(4)})`);
  console.log(`analysis + search                      ${(tAnalysis + tSearch).toFixed(0).padStart(7)} ms   goal: seconds`);
  console.log(`curve, ${curve.length} budgets                      ${tCurve.toFixed(0).padStart(7)} ms   (${ctx.compiles} compiles in all)`);
  for (const p of curve) console.log(`  budget ${mb(p.budgetBytes)}  peak ${mb(p.peakBytes)}  contribution ${p.contribution.toPrecision(4)}  units ${p.choices.length}`);
  console.log(`measured analysis would take about ${((tOne * options) / 1000).toFixed(0)} s (${tOne.toFixed(0)} ms per option x ${options})`);
})();
