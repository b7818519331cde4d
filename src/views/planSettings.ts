// The plan's settings that are not in the scheme document: the device profile the views follow and the
// per-model backend overrides. Free of `vscode`: the extension installs a store backed by the workspace
// state (devicePicker.ts); tests and the browser harness use the in-memory default.
//
// Overrides live in workspace state, not in the scheme file: the scheme says what trains (it travels with
// the model), while a unit choice belongs to one device and one user's experiment.

import type { BackendOverrides } from '../compiler/backends/assign';

export interface PlanSettingsStore {
  device(): string;
  setDevice(name: string): void;
  overrides(modelPath: string): BackendOverrides;
  setOverrides(modelPath: string, o: BackendOverrides): void;
}

export type PlanSettingsListener = (change: { device?: string; modelPath?: string }) => void;

class MemoryStore implements PlanSettingsStore {
  private dev = 'host';
  private readonly ov = new Map<string, BackendOverrides>();
  device(): string { return this.dev; }
  setDevice(name: string): void { this.dev = name; }
  overrides(modelPath: string): BackendOverrides { return this.ov.get(modelPath) ?? {}; }
  setOverrides(modelPath: string, o: BackendOverrides): void { this.ov.set(modelPath, o); }
}

let store: PlanSettingsStore = new MemoryStore();
const listeners = new Set<PlanSettingsListener>();

export const planSettings = {
  get device(): string {
    return store.device();
  },
  overrides(modelPath: string): BackendOverrides {
    return store.overrides(modelPath);
  },
  /** The extension's store (workspace state); the in-memory one until then. */
  install(s: PlanSettingsStore): void {
    store = s;
  },
  setDevice(name: string): void {
    if (name === store.device()) return;
    store.setDevice(name);
    for (const l of listeners) l({ device: name });
  },
  setOverrides(modelPath: string, o: BackendOverrides): void {
    store.setOverrides(modelPath, o);
    for (const l of listeners) l({ modelPath });
  },
  onDidChange(l: PlanSettingsListener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

/** The overrides with one op's or one layer's unit set (unit '' removes it). */
export function withOverride(o: BackendOverrides, kind: 'op' | 'layer', target: string, unit: string): BackendOverrides {
  if (kind === 'op') {
    const ops = { ...(o.ops ?? {}) };
    if (unit) ops[target] = unit;
    else delete ops[target];
    return { ...o, ops };
  }
  const layers = (o.layers ?? []).filter((r) => r.match !== target);
  if (unit) layers.push({ match: target, unit });
  return { ...o, layers };
}
