// The update units a fit chooses between: every layer that owns parameters (each Conv/Linear/norm/embedding
// layer), and the options each admits — `bias` (its biases and norm betas, as resolveScheme reads `bias`),
// `channels` 1/8, 1/4, 1/2 (the first output channels of its weights, plus the rest of the layer's
// parameters, as resolveScheme reads `channels: r`) and `full`. An option appears only when it trains
// something different from the options before it, so a bias-free Conv has no `bias` option and a norm
// layer no `channels` ones.

import type { LoadedModel } from '../loadModel';
import type { LayerUpdate, Scheme, SchemeRule } from '../sparse/scheme';
import { paramRoles, type ParamRole } from '../sparse/paramRoles';
import { channelAxis, channelCount } from '../sparse/channels';

export type FitOption = 'bias' | 'channels-1/8' | 'channels-1/4' | 'channels-1/2' | 'full';
export const FIT_OPTIONS: readonly FitOption[] = ['bias', 'channels-1/8', 'channels-1/4', 'channels-1/2', 'full'];
const RATIO: Partial<Record<FitOption, number>> = { 'channels-1/8': 1 / 8, 'channels-1/4': 1 / 4, 'channels-1/2': 1 / 2 };

/** Part of a parameter an option trains: all of it, or its first `k` channels along `axis`. */
export interface ParamSlice {
  param: string;
  role: ParamRole;
  axis?: number;
  k?: number;
}

export interface UnitOption {
  option: FitOption;
  update: LayerUpdate;
  slices: ParamSlice[];
  /** Elements the option trains (its gradient's size). */
  elements: number;
}

export interface UpdateUnit {
  /** Layer id (dotted module path), or the parameter name for a parameter outside any layer. */
  id: string;
  params: string[];
  /** Globs that select exactly this unit's parameters in a scheme rule. */
  match: string[];
  /** Index of the first forward node that reads one of its parameters (the depth backward must reach). */
  position: number;
  /** In order of increasing size; the last is `full`. */
  options: UnitOption[];
}

export function optionUpdate(o: FitOption): LayerUpdate {
  const r = RATIO[o];
  return r !== undefined ? { channels: r } : (o as 'bias' | 'full');
}

const size = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);

export function updateUnits(loaded: LoadedModel): UpdateUnit[] {
  const { model, layers } = loaded;
  const g = model.graph;
  const roles = paramRoles(g, layers);
  const firstUse = new Map<string, number>();
  g.nodes.forEach((n, i) => { for (const v of n.inputs) if (!firstUse.has(v)) firstUse.set(v, i); });
  const hasDescendantParams = (id: string): boolean =>
    [...layers.layers.values()].some((l) => l.id !== id && l.params.length > 0 && (id === '' || l.id.startsWith(id + '.')));

  const units: UpdateUnit[] = [];
  for (const l of layers.layers.values()) {
    const params = l.params.filter((p) => g.initializers.has(p) && firstUse.has(p));
    if (params.length === 0) continue;
    // A rule on a layer id also matches its descendants' parameters; name the parameters then instead.
    const match = l.id !== '' && !hasDescendantParams(l.id) ? [l.id] : params;
    const dims = (p: string): number[] => g.initializers.get(p)!.dims;
    const options: UnitOption[] = [];
    const add = (option: FitOption, slices: ParamSlice[]): void => {
      const elements = slices.reduce((a, s) => a + (s.k !== undefined ? (size(dims(s.param)) / dims(s.param)[s.axis!]) * s.k : size(dims(s.param))), 0);
      if (elements === 0 || options.some((o) => o.elements === elements)) return;
      options.push({ option, update: optionUpdate(option), slices, elements });
    };
    const all = params.map((p): ParamSlice => ({ param: p, role: roles.get(p) ?? 'other' }));
    add('bias', all.filter((s) => s.role === 'bias' || s.role === 'norm-bias'));
    if (all.some((s) => s.role === 'weight')) {
      for (const o of ['channels-1/8', 'channels-1/4', 'channels-1/2'] as const) {
        add(o, all.map((s) => {
          if (s.role !== 'weight') return s;
          const axis = channelAxis(g, s.param);
          const k = channelCount(RATIO[o]!, dims(s.param)[axis]);
          return k < dims(s.param)[axis] ? { ...s, axis, k } : s;
        }));
      }
    }
    add('full', all);
    // `full` must be the largest even when a channels option already trained everything (tiny weights).
    if (options[options.length - 1].option !== 'full') options[options.length - 1] = { ...options[options.length - 1], option: 'full', update: 'full' };
    units.push({ id: l.id || params[0], params, match, position: Math.min(...params.map((p) => firstUse.get(p)!)), options });
  }
  return units.sort((a, b) => a.position - b.position);
}

/** The scheme that trains exactly the chosen option of each unit (everything else frozen). */
export function schemeOf(units: readonly UpdateUnit[], choice: ReadonlyMap<string, FitOption>, batchnorm: Scheme['batchnorm']): Scheme {
  const rules: SchemeRule[] = [];
  for (const u of units) {
    const o = choice.get(u.id);
    if (!o) continue;
    for (const m of u.match) rules.push({ match: m, update: optionUpdate(o) });
  }
  return { default: 'frozen', batchnorm, rules };
}
