// The built-in device profiles. The JSON files are imported (not read at run time) so esbuild bundles
// them into the extension and the CLI; each is validated once, on first use.

import { ModelError } from '../onnx/errors';
import { validateProfile, type DeviceProfile } from './profile';
import host from './profiles/host.json';
import rpi4 from './profiles/rpi4.json';
import rpi5 from './profiles/rpi5.json';
import jetsonNano from './profiles/jetson-nano.json';
import jetsonOrinNano from './profiles/jetson-orin-nano.json';
import jetsonAgxOrin from './profiles/jetson-agx-orin.json';

export const PROFILE_NAMES = ['host', 'rpi4', 'rpi5', 'jetson-nano', 'jetson-orin-nano', 'jetson-agx-orin'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

const RAW: Record<ProfileName, unknown> = {
  host, rpi4, rpi5, 'jetson-nano': jetsonNano, 'jetson-orin-nano': jetsonOrinNano, 'jetson-agx-orin': jetsonAgxOrin,
};

const cache = new Map<string, DeviceProfile>();

export function isProfileName(name: string): name is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}

/** A built-in profile by name; a clear error lists the names when it is not one. */
export function getProfile(name: string): DeviceProfile {
  if (!isProfileName(name)) {
    throw new ModelError(`unknown device profile "${name}"; use one of: ${PROFILE_NAMES.join(', ')}`);
  }
  let p = cache.get(name);
  if (!p) {
    p = validateProfile(RAW[name], `src/compiler/backends/profiles/${name}.json`);
    if (p.name !== name) throw new ModelError(`device profile file ${name}.json names itself "${p.name}"; make them agree`);
    cache.set(name, p);
  }
  return p;
}

export function allProfiles(): DeviceProfile[] {
  return PROFILE_NAMES.map(getProfile);
}

/** What the host profile reads from the machine: `os.cpus()`, `os.totalmem()`, `process.arch`; passed in to keep this pure. */
export interface MachineInfo {
  cpus: { model: string; speed: number }[];
  totalmem: number;
  /** 'x64' (default) or 'arm64'. */
  arch?: string;
}

/** fp32 FLOP per cycle per core by ISA: AVX2 has two 256-bit FMA ports (32); AArch64 NEON two 128-bit FMA pipes (16). */
const FLOPS_PER_CYCLE: Record<string, { flops: number; isa: string }> = {
  x64: { flops: 32, isa: 'x86-64, AVX2 + FMA3, 256-bit' },
  arm64: { flops: 16, isa: 'AArch64, NEON (Advanced SIMD), 128-bit' },
};

/**
 * The host profile with this machine's core count, clock (when the OS reports one; many VMs report 0),
 * memory size and ISA's FLOP per cycle; the peak is recomputed. Bandwidth and efficiencies stay generic.
 */
export function hostProfile(machine?: MachineInfo): DeviceProfile {
  const base = getProfile('host');
  if (!machine || machine.cpus.length === 0) return base;
  const cpu = base.units[0];
  const speeds = machine.cpus.map((c) => c.speed).filter((s) => s > 0);
  const clockGHz = speeds.length ? Math.round(Math.max(...speeds) / 10) / 100 : cpu.clockGHz;
  const cores = machine.cpus.length;
  const isa = FLOPS_PER_CYCLE[machine.arch ?? 'x64'] ?? FLOPS_PER_CYCLE.x64;
  const peakGflops = +(cores * clockGHz * isa.flops).toFixed(3);
  const model = machine.cpus[0].model.trim() || machine.arch || 'x86-64';
  return {
    ...base,
    displayName: `Host (${cores}x ${model})`,
    memoryBytes: machine.totalmem > 0 ? machine.totalmem : base.memoryBytes,
    units: [{ ...cpu, cores, clockGHz, peakGflops, flopsPerCyclePerCore: isa.flops, isa: isa.isa, displayName: `${cores}x ${model} @ ${clockGHz} GHz` }],
    derived: { ...base.derived, 'units.cpu.peakGflops': `${cores} cores x ${clockGHz} GHz x ${isa.flops} FLOP/cycle = ${peakGflops} GFLOP/s fp32 (cores and clock read from os.cpus())` },
  };
}
