// Plain-TypeScript twins of every wasm kernel: the specification the SIMD code is tested
// against. One file per kernel family under reference/.
export * from "./reference/quantize.js";
export * from "./reference/mask.js";
export * from "./reference/kmeans.js";
export * from "./reference/lasso.js";
export * from "./reference/cholesky.js";
export * from "./reference/gemm.js";
export * from "./reference/im2col.js";
export * from "./reference/requantize.js";
export * from "./reference/depthwise.js";
export * from "./reference/conv2d.js";
export * from "./reference/pooling.js";
export * from "./reference/elementwise.js";
export * from "./reference/batchnorm.js";
export * from "./reference/optimizers.js";
export * from "./reference/winograd.js";
