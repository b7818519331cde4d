// Every shape rule, by operator type (default ONNX domain only). A missing entry means "unknown
// operator": the node is kept and its outputs keep their declared types.

import type { ShapeRule } from './context';
import { elementwiseRules } from './elementwise';
import { matmulRules } from './matmul';
import { convRules } from './conv';
import { normRules } from './norm';
import { reduceRules } from './reduce';
import { constantRules } from './constants';
import { indexingRules } from './indexing';
import { shapeRules } from './shapeOps';
import { controlRules } from './control';
import { quantRules } from './quant';

const RULES = new Map<string, ShapeRule>();
for (const family of [elementwiseRules, matmulRules, convRules, normRules, reduceRules, constantRules, indexingRules, shapeRules, controlRules, quantRules]) {
  for (const [op, rule] of Object.entries(family)) RULES.set(op, rule);
}

export function ruleFor(opType: string, domain: string): ShapeRule | undefined {
  return domain === '' || domain === 'ai.onnx' ? RULES.get(opType) : undefined;
}

export function knownOps(): string[] {
  return [...RULES.keys()].sort();
}
