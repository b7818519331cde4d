import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allProfiles, getProfile, hostProfile, PROFILE_NAMES } from '../../src/compiler/backends/profiles';
import { validateProfile, unitRuns, type DeviceProfile } from '../../src/compiler/backends/profile';
import { assignBackends, evaluateAssignment, type ScheduledOp } from '../../src/compiler/backends/assign';
import { opTimeOnUnit } from '../../src/compiler/cost/roofline';
import { classOfOpType } from '../../src/compiler/cost/opClass';
import { ModelError } from '../../src/compiler/onnx/errors';
import type { Graph } from '../../src/compiler/ir/graph';
import { scheduledOpsFromGraph } from '../../src/compiler/backends/fromGraph';
import rpi4Raw from '../../src/compiler/backends/profiles/rpi4.json';

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

test('every built-in profile validates, and its peaks are the cited figures multiplied out', () => {
  const profiles = allProfiles();
  assert.deepEqual(profiles.map((p) => p.name), [...PROFILE_NAMES]);
  for (const p of profiles) {
    assert.ok(p.sources.length >= 1 && p.sources.every((s) => s.url.startsWith('https://')), p.name);
    for (const u of p.units) assert.ok(Math.abs(u.peakGflops - u.cores * u.clockGHz * u.flopsPerCyclePerCore) < 0.01 * u.peakGflops);
  }
  const bw = (n: string) => getProfile(n).memory.bandwidthGBs;
  assert.deepEqual([bw('jetson-nano'), bw('jetson-orin-nano'), bw('jetson-agx-orin')], [25.6, 68, 204.8]);
  assert.equal(getProfile('rpi4').units[0].cores, 4);
  assert.equal(getProfile('rpi4').units[0].clockGHz, 1.5);
  for (const n of ['jetson-nano', 'jetson-orin-nano', 'jetson-agx-orin']) {
    const p = getProfile(n);
    assert.deepEqual(p.units.map((u) => u.kind), ['cpu', 'gpu']);
    assert.equal(p.links[0].kind, 'unified-memory');
    const gpu = p.units[1];
    assert.ok(!unitRuns(gpu, 'Shape') && unitRuns(gpu, 'Conv') && unitRuns(p.units[0], 'Shape'));
  }
  assert.equal(getProfile('jetson-agx-orin').units[1].peakGflops, 5324.8);
  assert.throws(() => getProfile('rpi3'), /unknown device profile "rpi3"; use one of: host, rpi4/);
});

test('the host profile follows the machine it runs on', () => {
  const h = hostProfile({ cpus: Array.from({ length: 8 }, () => ({ model: 'Test CPU', speed: 2500 })), totalmem: 16 * 2 ** 30 });
  assert.equal(h.units[0].cores, 8);
  assert.equal(h.units[0].clockGHz, 2.5);
  assert.equal(h.units[0].peakGflops, 8 * 2.5 * 32);
  assert.equal(h.memoryBytes, 16 * 2 ** 30);
  const vm = hostProfile({ cpus: [{ model: 'vCPU', speed: 0 }], totalmem: 0 });
  assert.equal(vm.units[0].clockGHz, getProfile('host').units[0].clockGHz);
  const arm = hostProfile({ cpus: Array.from({ length: 4 }, () => ({ model: 'arm', speed: 2000 })), totalmem: 2 ** 30, arch: 'arm64' });
  assert.equal(arm.units[0].peakGflops, 4 * 2 * 16);
  // The derived host profile is itself a valid profile.
  assert.equal(validateProfile(JSON.parse(JSON.stringify(h)), 'host (derived)').units[0].peakGflops, 8 * 2.5 * 32);
});

test('a bad profile is refused with the file and the field named', () => {
  const file = 'bad.json';
  const uncited = clone(rpi4Raw) as Record<string, any>;
  delete uncited.assumed['units.cpu.launchOverheadUs'];
  assert.throws(() => validateProfile(uncited, file), (e: Error) => e instanceof ModelError && /bad\.json: field "units\.cpu\.launchOverheadUs" is neither cited/.test(e.message));
  const wrongPeak = clone(rpi4Raw) as Record<string, any>;
  wrongPeak.units[0].peakGflops = 96;
  assert.throws(() => validateProfile(wrongPeak, file), /field "units\.cpu\.peakGflops" is 96 but cores x clockGHz x flopsPerCyclePerCore = 48/);
  const wrongBw = clone(rpi4Raw) as Record<string, any>;
  wrongBw.memory.bandwidthGBs = 25.6;
  assert.throws(() => validateProfile(wrongBw, file), /field "memory\.bandwidthGBs" is 25\.6 but transfersMTs x busBits \/ 8 = 12\.8/);
  const stale = clone(rpi4Raw) as Record<string, any>;
  stale.derived['units.gpu.peakGflops'] = 'no such unit';
  assert.throws(() => validateProfile(stale, file), /field "derived\.units\.gpu\.peakGflops" names no numeric field/);
  const badOps = clone(rpi4Raw) as Record<string, any>;
  badOps.units[0].ops = { except: ['Conv'] };
  assert.throws(() => validateProfile(badOps, file), /field "units\.cpu\.ops" must be "all"/);
  badOps.units[0].ops = { allExcept: ['conv'] };
  assert.throws(() => validateProfile(badOps, file), /"units\.cpu\.ops\.allExcept" has "conv", which is not an operator type name/);
  const badEff = clone(rpi4Raw) as Record<string, any>;
  badEff.units[0].efficiency.gemm = 1.5;
  assert.throws(() => validateProfile(badEff, file), /"units\.cpu\.efficiency\.gemm" must be at most 1/);
  const noLink = clone(getProfile('jetson-nano')) as unknown as Record<string, any>;
  noLink.links = [];
  delete noLink.derived['links.cpu-gpu.bandwidthGBs'];
  delete noLink.assumed['links.cpu-gpu.syncUs'];
  for (const s of noLink.sources) delete s.gives['links.cpu-gpu.bandwidthGBs'];
  assert.throws(() => validateProfile(noLink, file), /no link between "cpu" and "gpu"/);
});

test('roofline: compute-bound, memory-bound and overhead-bound operators', () => {
  const cpu = getProfile('rpi4').units[0]; // 48 GFLOP/s, gemm 0.6; 12.8 GB/s x 0.4; 3 us
  const big = opTimeOnUnit({ flops: 2.88e9, bytes: 1e6, opClass: 'gemm' }, cpu);
  assert.equal(big.bound, 'compute');
  assert.ok(Math.abs(big.ms - (2.88e9 / (48e9 * 0.6) * 1e3 + 0.003)) < 1e-9); // 100 ms + 3 us
  const copy = opTimeOnUnit({ flops: 0, bytes: 5.12e8, opClass: 'data' }, cpu);
  assert.equal(copy.bound, 'memory');
  assert.ok(Math.abs(copy.ms - (5.12e8 / (12.8e9 * 0.4) * 1e3 + 0.003)) < 1e-9); // 100 ms + 3 us
  const tiny = opTimeOnUnit({ flops: 10, bytes: 40, opClass: 'elementwise' }, cpu);
  assert.equal(tiny.bound, 'overhead');
  assert.equal(opTimeOnUnit({ flops: 0, bytes: 0, opClass: 'none' }, cpu).ms, 0);
});

// ---------------------------------------------------------------------------------------------------
// Assignment

/** A three-unit test device (the validator's citation rule is met by marking everything assumed). */
function testDevice(): DeviceProfile {
  const unit = (id: string, kind: string, peak: number, launch: number, ops: unknown) => ({
    id, kind, displayName: id, isa: 'test', cores: 1, clockGHz: 1, flopsPerCyclePerCore: peak, peakGflops: peak,
    bandwidthGBs: 20, bandwidthEfficiency: 1, launchOverheadUs: launch, ops,
    efficiency: { gemm: 1, conv: 0.8, depthwise: 0.3, elementwise: 0.5, reduction: 0.5, data: 0.5 },
  });
  return validateProfile({
    name: 'test-device', displayName: 'Test device', memoryBytes: 2 ** 30,
    memory: { type: 'test', busBits: 64, transfersMTs: 2500, bandwidthGBs: 20 },
    units: [unit('cpu', 'cpu', 10, 2, 'all'), unit('gpu', 'gpu', 100, 10, { allExcept: ['Shape'] }), unit('npu', 'gpu', 400, 30, { only: ['Conv', 'MatMul', 'Relu'] })],
    links: [
      { between: ['cpu', 'gpu'], kind: 'unified-memory', bandwidthGBs: 20, syncUs: 20 },
      { between: ['cpu', 'npu'], kind: 'copy', bandwidthGBs: 4, syncUs: 50 },
      { between: ['gpu', 'npu'], kind: 'copy', bandwidthGBs: 8, syncUs: 40 },
    ],
    sources: [{ url: 'https://example.org/test', title: 'test', gives: { memoryBytes: 'test' } }],
    derived: {}, assumed: { units: 'test values', links: 'test values', memory: 'test values' },
  }, 'test-device');
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random DAG in topological order: each op reads 1-2 earlier tensors (or the graph input). */
function randomSchedule(seed: number, n: number): ScheduledOp[] {
  const r = rng(seed);
  const ops: ScheduledOp[] = [];
  const kinds = ['Conv', 'MatMul', 'Relu', 'Add', 'Shape', 'Transpose', 'Softmax'];
  for (let i = 0; i < n; i++) {
    const op = kinds[Math.floor(r() * kinds.length)];
    const pick = () => (i === 0 || r() < 0.15 ? 'input' : `t${Math.floor(r() * i)}`);
    const inputs = [...new Set([pick(), ...(r() < 0.5 ? [pick()] : [])])].map((name) => ({ name, bytes: Math.floor(r() * 4e6) }));
    const flops = op === 'Conv' || op === 'MatMul' ? Math.floor(r() * 5e8) : Math.floor(r() * 2e6);
    ops.push({
      id: `op${i}`, op, layer: `block${i % 3}/part${i}`, inputs, outputs: [{ name: `t${i}`, bytes: Math.floor(r() * 4e6) }],
      flops, bytes: inputs.reduce((s, x) => s + x.bytes, 0) + 1e5, opClass: classOfOpType(op),
    });
  }
  // Bytes of a tensor must be the same wherever it is read: use the producer's figure.
  const size = new Map(ops.map((o) => [o.outputs[0].name, o.outputs[0].bytes]));
  for (const o of ops) for (const x of o.inputs) if (size.has(x.name)) x.bytes = size.get(x.name)!;
  return ops;
}

/**
 * Brute force: every assignment of units to ops, each costed on its own terms — op time on its unit, and
 * for every input made by an earlier op on a unit the consumer does not yet hold it on, the cheapest
 * hand-over from a unit that does hold it.
 */
function bruteForce(schedule: ScheduledOp[], profile: DeviceProfile, forced: Record<string, string> = {}): { ms: number; units: string[] } {
  const ids = profile.units.map((u) => u.id);
  const time = (i: number, u: number) => opTimeOnUnit({ flops: schedule[i].flops, bytes: schedule[i].bytes, opClass: schedule[i].opClass! }, profile.units[u]).ms;
  const linkMs = (a: string, b: string, bytes: number) => {
    const l = profile.links.find((k) => k.between.includes(a) && k.between.includes(b))!;
    return l.syncUs / 1e3 + bytes / (l.bandwidthGBs * 1e9) * 1e3;
  };
  let best = { ms: Infinity, units: [] as string[] };
  const choice = new Array<number>(schedule.length).fill(0);
  const total = ids.length ** schedule.length;
  for (let code = 0; code < total; code++) {
    let c = code;
    for (let i = 0; i < schedule.length; i++) { choice[i] = c % ids.length; c = Math.floor(c / ids.length); }
    if (schedule.some((o, i) => !unitRuns(profile.units[choice[i]], o.op) || (forced[o.id] && forced[o.id] !== ids[choice[i]]))) continue;
    const holders = new Map<string, Set<string>>();
    let ms = 0;
    schedule.forEach((o, i) => {
      const u = ids[choice[i]];
      ms += time(i, choice[i]);
      for (const x of o.inputs) {
        const h = holders.get(x.name);
        if (!h || h.has(u)) continue;
        ms += Math.min(...[...h].map((from) => linkMs(from, u, x.bytes)));
        h.add(u);
      }
      holders.set(o.outputs[0].name, new Set([u]));
    });
    if (ms < best.ms) best = { ms, units: choice.map((k) => ids[k]) };
  }
  return best;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

test('the DP finds the optimum that brute force over every assignment finds (random small graphs)', () => {
  const device = testDevice();
  const jetson = getProfile('jetson-nano');
  let cases = 0, mixed = 0, withTransfers = 0, greedyWorse = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const profile = seed % 2 ? device : jetson;
    const schedule = randomSchedule(seed, profile === device ? 8 : 11);
    const dp = assignBackends(schedule, profile);
    const bf = bruteForce(schedule, profile);
    assert.ok(dp.exact);
    assert.ok(close(dp.estStepMs, bf.ms), `seed ${seed}: DP ${dp.estStepMs} ms, brute force ${bf.ms} ms`);
    // The DP's own total agrees with re-costing its assignment from scratch.
    const again = evaluateAssignment(schedule, profile, dp.ops.map((o) => o.unit));
    assert.ok(close(again.estStepMs, dp.estStepMs));
    assert.ok(close(dp.estStepMs, dp.computeMs + dp.transferMs));
    assert.ok(close(dp.units.reduce((s, u) => s + u.estMs, 0), dp.computeMs));
    assert.ok(close(dp.transfers.reduce((s, t) => s + t.estMs, 0), dp.transferMs));
    cases++;
    if (new Set(dp.ops.map((o) => o.unit)).size > 1) mixed++;
    if (dp.transfers.length > 0) withTransfers++;
    // Greedy (each op on its fastest unit, transfers ignored when choosing) is what the DP must beat.
    const greedy = schedule.map((o) => {
      const work = { flops: o.flops, bytes: o.bytes, opClass: o.opClass! };
      const able = profile.units.filter((u) => unitRuns(u, o.op));
      return able.reduce((a, b) => (opTimeOnUnit(work, b).ms < opTimeOnUnit(work, a).ms ? b : a)).id;
    });
    if (evaluateAssignment(schedule, profile, greedy).estStepMs > dp.estStepMs + 1e-9) greedyWorse++;
  }
  assert.equal(cases, 40);
  console.log(`${cases} cases: ${mixed} use more than one unit, ${withTransfers} hand tensors over, greedy is worse in ${greedyWorse}`);
  assert.ok(mixed >= 10 && withTransfers >= 10 && greedyWorse >= 5, 'the cases exercise hand-overs and trade-offs');
});

test('a chain where the optimum is known: stay on the GPU across a cheap op rather than pay two hand-overs', () => {
  const p = getProfile('jetson-nano'); // GPU 236 GFLOP/s vs CPU 46; hand-over 30 us + bytes / 25.6 GB/s
  const t = (name: string) => ({ name, bytes: 1 << 20 });
  const schedule: ScheduledOp[] = [
    { id: 'mm1', op: 'MatMul', layer: 'a', inputs: [t('x')], outputs: [t('y1')], flops: 1e9, bytes: 3 << 20, opClass: 'gemm' },
    { id: 'relu', op: 'Relu', layer: 'a', inputs: [t('y1')], outputs: [t('y2')], flops: 262144, bytes: 2 << 20, opClass: 'elementwise' },
    { id: 'mm2', op: 'MatMul', layer: 'b', inputs: [t('y2')], outputs: [t('y3')], flops: 1e9, bytes: 3 << 20, opClass: 'gemm' },
    { id: 'shape', op: 'Shape', layer: 'b', inputs: [t('y3')], outputs: [{ name: 's', bytes: 32 }], flops: 0, bytes: 0, opClass: 'none' },
  ];
  const a = assignBackends(schedule, p);
  assert.deepEqual(a.ops.map((o) => o.unit), ['gpu', 'gpu', 'gpu', 'cpu']);
  // Shape runs only on the CPU, so y3 is handed over once: 30 us + 1 MiB / 25.6 GB/s.
  assert.equal(a.transfers.length, 1);
  assert.deepEqual([a.transfers[0].tensor, a.transfers[0].from, a.transfers[0].to, a.transfers[0].beforeOp], ['y3', 'gpu', 'cpu', 'shape']);
  assert.ok(close(a.transfers[0].estMs, 0.03 + (1 << 20) / 25.6e9 * 1e3));
  assert.ok(a.singleUnitMs.cpu! > a.estStepMs);
  assert.equal(a.singleUnitMs.gpu, null, 'the GPU alone cannot run Shape');
  assert.match(a.method, /roofline/);
  assert.match(a.method, /dynamic programming/);
  assert.match(a.method, /optimal under this model/);
});

test('overrides per operator and per layer are honoured, and the DP optimises around them', () => {
  const p = getProfile('jetson-nano');
  const schedule = randomSchedule(7, 10);
  const free = assignBackends(schedule, p);
  const target = schedule.find((o) => o.op !== 'Shape')!;
  const flip = free.ops.find((o) => o.id === target.id)!.unit === 'cpu' ? 'gpu' : 'cpu';
  const forced = assignBackends(schedule, p, { overrides: { ops: { [target.id]: flip } } });
  assert.equal(forced.ops.find((o) => o.id === target.id)!.unit, flip);
  assert.equal(forced.ops.find((o) => o.id === target.id)!.forcedBy, 'op');
  assert.ok(forced.estStepMs >= free.estStepMs - 1e-12);
  assert.ok(close(forced.estStepMs, bruteForce(schedule, p, { [target.id]: flip }).ms), 'optimal among assignments that keep the override');
  assert.match(forced.method, /1 operator placed by overrides/);

  // A layer glob covers the layer's sub-layers; ops the unit cannot run are left free, with a warning.
  const byLayer = assignBackends(schedule, p, { overrides: { layers: [{ match: 'block1', unit: 'cpu' }, { match: 'block2/*', unit: 'gpu' }] } });
  for (const o of byLayer.ops) {
    if (o.layer.startsWith('block1/')) assert.equal(o.unit, 'cpu', o.id);
    if (o.layer.startsWith('block2/') && o.op !== 'Shape') assert.equal(o.unit, 'gpu', o.id);
  }
  const shapesInBlock2 = schedule.filter((o) => o.layer.startsWith('block2/') && o.op === 'Shape').length;
  assert.equal(byLayer.warnings.length, shapesInBlock2);
  // An op-id override beats a layer rule.
  const both = assignBackends(schedule, p, { overrides: { layers: [{ match: '*', unit: 'cpu' }], ops: { [target.id]: 'gpu' } } });
  assert.ok(both.ops.every((o) => o.unit === (o.id === target.id ? 'gpu' : 'cpu')));

  assert.throws(() => assignBackends(schedule, p, { overrides: { ops: { [target.id]: 'dsp' } } }), /names unit "dsp", but jetson-nano has: cpu, gpu/);
  assert.throws(() => assignBackends(schedule, p, { overrides: { ops: { nope: 'cpu' } } }), /operator "nope", which is not in the schedule/);
  const shape = schedule.find((o) => o.op === 'Shape');
  if (shape) assert.throws(() => assignBackends(schedule, p, { overrides: { ops: { [shape.id]: 'gpu' } } }), /does not run Shape/);
});

test('with too few states kept the DP says it is a beam search, and never beats the exact optimum', () => {
  const p = testDevice();
  let pruned = 0;
  for (let seed = 30; seed < 36; seed++) {
    const schedule = randomSchedule(seed, 8);
    const exact = assignBackends(schedule, p);
    const beam = assignBackends(schedule, p, { maxStates: 1 });
    assert.ok(beam.estStepMs >= exact.estStepMs - 1e-12);
    if (!beam.exact) {
      pruned++;
      assert.match(beam.method, /beam of the 1 cheapest states/);
    }
  }
  assert.ok(pruned > 0);
});

test('single-unit devices put everything on the CPU with no transfers', () => {
  const schedule = randomSchedule(3, 12);
  for (const name of ['host', 'rpi4', 'rpi5'] as const) {
    const a = assignBackends(schedule, getProfile(name));
    assert.ok(a.ops.every((o) => o.unit === 'cpu'));
    assert.equal(a.transfers.length, 0);
    assert.ok(close(a.estStepMs, a.singleUnitMs.cpu!));
  }
  // The faster Pi is faster.
  assert.ok(assignBackends(schedule, getProfile('rpi5')).estStepMs < assignBackends(schedule, getProfile('rpi4')).estStepMs);
});

test('a training graph becomes a schedule: gradient operators are costed like the forward node they differentiate', () => {
  const v = (name: string, shape: number[]) => [name, { name, type: { dtype: 'float32' as const, shape } }] as const;
  const node = (id: string, opType: string, inputs: string[], outputs: string[], domain = '') => ({ id, name: id, opType, domain, inputs, outputs, attrs: {}, layer: 'features/0' });
  const graph: Graph = {
    name: 'g', inputs: ['x'], outputs: ['y'], initializers: new Map(),
    values: new Map([v('x', [1, 4, 8, 8]), v('w', [6, 4, 3, 3]), v('y', [1, 6, 6, 6]), v('dy', [1, 6, 6, 6]), v('dw', [6, 4, 3, 3]), v('w2', [6, 4, 3, 3])]),
    nodes: [
      node('conv', 'Conv', ['x', 'w'], ['y']),
      node('loss_grad', 'Identity', ['y'], ['dy']),
      node('conv_gw', 'ConvGradWeight', ['dy', 'x'], ['dw'], 'pockengine'),
      node('sgd_w', 'SGD', ['w', 'dw'], ['w2'], 'pockengine'),
    ],
  };
  const schedule = scheduledOpsFromGraph(graph, {
    phase: new Map([['conv', 'forward'], ['loss_grad', 'loss'], ['conv_gw', 'backward'], ['sgd_w', 'optimizer']]),
    forwardOf: new Map([['conv_gw', 'conv']]),
  });
  const convFlops = 2 * 6 * 6 * 6 * 4 * 3 * 3;
  assert.deepEqual(schedule.map((o) => o.flops), [convFlops, 0, convFlops, 6 * 6 * 4 * 3 * 3]);
  assert.deepEqual(schedule.map((o) => o.phase), ['forward', 'loss', 'backward', 'optimizer']);
  assert.deepEqual(schedule[2].inputs, [{ name: 'dy', bytes: 6 * 36 * 4 }, { name: 'x', bytes: 4 * 64 * 4 }]);
  const a = assignBackends(schedule, getProfile('jetson-orin-nano'));
  assert.deepEqual(a.ops.map((o) => o.phase), ['forward', 'loss', 'backward', 'optimizer']);
  assert.ok(a.exact);
});
