/**
 * A tiny tensor-graph library that emits ONNX: build a graph with the ops below (each file in ops/ holds an
 * op family's forward and, beside it, its gradient), call `gradients(graph, loss, params)` for reverse-mode
 * autodiff, then `graph.toModel()` for ModelProto bytes that onnxruntime runs. Every op's gradient is
 * checked against finite differences in test/student/graph/ops.test.ts.
 */
export { Graph, Value, OPSET, type Dim, type FloatDType } from './graph.js';
export { gradients } from './autodiff.js';
export { add, sub, mul, div, neg, scale, unbroadcast } from './ops/elementwise.js';
export { matmul, linear } from './ops/matmul.js';
export { reshape, transpose } from './ops/shape.js';
export { embedding } from './ops/gather.js';
export { layerNorm } from './ops/normalization.js';
export { gelu, geluScaled, softmax, softmaxDropout, dropout } from './ops/activation.js';
export { softmaxCrossEntropy, sparseSoftmaxCrossEntropy, IGNORE_INDEX } from './ops/loss.js';
export { encodeModel, decodeModel, type DType } from './onnx.js';
export { sumAll } from './ops/reduce.js';
export { matmulProbe, type MatmulProbe } from './gemm-probe.js';
