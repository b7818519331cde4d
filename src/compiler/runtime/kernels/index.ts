// Registers every ONNX kernel of the reference runtime (one module per operator family).

import './elementwise';
import './unary';
import './matmul';
import './conv';
import './pool';
import './normalization';
import './softmax';
import './reduce';
import './movement';
import './generate';
