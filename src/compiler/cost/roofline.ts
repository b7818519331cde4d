// Time of one operator on one compute unit, by the roofline: whichever of compute and memory traffic
// takes longer, plus the unit's fixed per-operator overhead. Compute runs at the unit's peak times the
// efficiency of the operator's class; memory at the unit's bandwidth times its sustained fraction.

import type { ComputeUnit } from '../backends/profile';
import type { OpClass } from './opClass';

export interface OpWork {
  flops: number;
  bytes: number;
  opClass: OpClass;
}

export interface OpTime {
  ms: number;
  computeMs: number;
  memoryMs: number;
  overheadMs: number;
  bound: 'compute' | 'memory' | 'overhead' | 'free';
}

export function opTimeOnUnit(work: OpWork, unit: ComputeUnit): OpTime {
  if (work.opClass === 'none') return { ms: 0, computeMs: 0, memoryMs: 0, overheadMs: 0, bound: 'free' };
  const computeMs = work.flops / (unit.peakGflops * 1e9 * unit.efficiency[work.opClass]) * 1e3;
  const memoryMs = work.bytes / (unit.bandwidthGBs * 1e9 * unit.bandwidthEfficiency) * 1e3;
  const overheadMs = unit.launchOverheadUs / 1e3;
  const ms = Math.max(computeMs, memoryMs) + overheadMs;
  const bound = overheadMs >= Math.max(computeMs, memoryMs) ? 'overhead' : computeMs >= memoryMs ? 'compute' : 'memory';
  return { ms, computeMs, memoryMs, overheadMs, bound };
}
