// Scheme + model -> one decision per parameter. `bias` trains the additive terms: Conv/Gemm/Linear biases
// and the beta of normalisation layers (not their gamma), as the Tiny Training Engine's bias-only update
// and the fixtures' sparse scheme do. `channels: r` trains the first ceil(r * C_out) output channels of a
// weight and the whole bias of its layer.

import type { Graph } from '../ir/graph';
import type { LayerTree } from '../ir/layers';
import { paramRoles, type ParamRole } from './paramRoles';
import { updateFor, type Scheme } from './scheme';

export interface ParamUpdate {
  param: string;
  layer: string;
  role: ParamRole;
  trainable: boolean;
  /** Fraction of output channels updated, when only some are (weights under `channels: r`). */
  channels?: number;
}

export function resolveScheme(scheme: Scheme, graph: Graph, layers: LayerTree): Map<string, ParamUpdate> {
  const roles = paramRoles(graph, layers);
  const out = new Map<string, ParamUpdate>();
  for (const [layer, l] of layers.layers) {
    for (const param of l.params) {
      const role = roles.get(param) ?? 'other';
      const u = updateFor(scheme, param, layer);
      const isBias = role === 'bias' || role === 'norm-bias';
      let d: ParamUpdate;
      if (u === 'full') d = { param, layer, role, trainable: true };
      else if (u === 'frozen') d = { param, layer, role, trainable: false };
      else if (u === 'bias') d = { param, layer, role, trainable: isBias };
      else if (role === 'weight' && u.channels < 1) d = { param, layer, role, trainable: true, channels: u.channels };
      else d = { param, layer, role, trainable: true };
      out.set(param, d);
    }
  }
  return out;
}

export function trainableParams(updates: Map<string, ParamUpdate>): string[] {
  return [...updates.values()].filter((u) => u.trainable).map((u) => u.param);
}
