// Normalisations whose extra outputs carry statistics: BatchNormalization (training outputs, which differ
// by opset), LayerNormalization (Mean and InvStdDev). Instance/Group norm keep the input's shape and are
// with the element-wise rules.

import { dtypeFromOnnx } from '../dtype';
import { attrInt } from '../graph';
import type { Dim } from '../shape';
import { type ShapeRule, normAxis, t } from './context';

export const normRules: Record<string, ShapeRule> = {
  BatchNormalization: (c) => {
    const x = c.shape(0);
    const out = [t(c.dtype(0), x)];
    // Every further output (running/saved mean and variance) is per channel.
    const ch: Dim[] | null = c.shape(1) ?? (x && x.length > 1 ? [x[1]] : null);
    const statType = c.has(3) ? c.dtype(3) : c.dtype(1);
    for (let k = 1; k < c.node.outputs.length; k++) out.push(t(statType, ch ? ch.slice() : null));
    return out;
  },
  LayerNormalization: (c) => {
    const x = c.shape(0);
    const out = [t(c.dtype(0), x)];
    if (c.node.outputs.length > 1) {
      const stash = dtypeFromOnnx(attrInt(c.node, 'stash_type', 1));
      let stat: Dim[] | null = null;
      if (x) {
        const axis = normAxis(attrInt(c.node, 'axis', -1), x.length);
        stat = x.map((d, i) => (i < axis ? d : 1));
      }
      for (let k = 1; k < c.node.outputs.length; k++) out.push(t(stash, stat ? stat.slice() : null));
    }
    return out;
  },
};
