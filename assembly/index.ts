// Every kernel the JS side calls. One op family per file.
export * from "./memory";
export * from "./quantize";
export * from "./dequantize";
export * from "./stats";
export * from "./mask";
export * from "./select";
export * from "./kmeans";
export * from "./lasso";
export * from "./gemm";
export * from "./im2col";
export * from "./requantize";
export * from "./peak";
export * from "./depthwise";
export * from "./pooling";
export * from "./elementwise";
export * from "./batchnorm";
export * from "./optimizers";
