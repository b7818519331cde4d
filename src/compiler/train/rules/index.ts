// The gradient rule table: operator type (or "domain::type" outside the default domain) -> rule.

import type { GradRule } from './types';
import { elementwiseRules } from './elementwise';
import { activationRules } from './activation';
import { matmulRules } from './matmul';
import { convRules } from './conv';
import { poolRules } from './pool';
import { normRules } from './norm';
import { reduceRules } from './reduce';
import { softmaxRules } from './softmax';
import { shapeRules } from './shape';

export const RULES = new Map<string, GradRule>(Object.entries({
  ...elementwiseRules, ...activationRules, ...matmulRules, ...convRules, ...poolRules, ...normRules,
  ...reduceRules, ...softmaxRules, ...shapeRules,
}));

/** Operators whose outputs carry no gradient to their inputs (indices, shapes, comparisons, constants). */
export const NON_DIFFERENTIABLE = new Set([
  'Shape', 'Size', 'Range', 'Constant', 'ConstantOfShape', 'Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual',
  'Not', 'And', 'Or', 'Xor', 'ArgMax', 'ArgMin', 'NonZero', 'EyeLike', 'Floor', 'Ceil', 'Round', 'Sign', 'IsNaN', 'IsInf',
  'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'OneHot',
]);

export { batchNormTrains } from './norm';
export type { GradRule, GradContext } from './types';
