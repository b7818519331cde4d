// The training compiler's own operators (domain 'pockengine'): importing this module registers them.

import './pointwise';
import './shape';
import './matmul';
import './conv';
import './pool';
import './norm';
import './softmax';
import './optimizer';

export { reduceToShape } from './shape';
export { matmulT } from './matmul';
export { convGradInput, convGradWeight, convGradBias } from './conv';
