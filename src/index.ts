// pocketflow-js public API. Today: the compute core (SIMD kernels, their pool, their
// reference twins). Learners, search and deploy arrive on top of it.
export { KernelCore, kernels, type TypedArray } from "./kernels/core.js";
export { KernelPool, type KernelPoolOptions } from "./kernels/pool.js";
export { SyncKernelPool, type SyncKernelPoolOptions } from "./kernels/sync-pool.js";
export { runInline, type KernelCall, type KernelOperation, type OperationBuilder } from "./kernels/operation.js";
export * from "./kernels/grouping.js";
export * from "./kernels/quant-params.js";
export * from "./kernels/quantize.js";
export { roundHalfEven } from "./kernels/rounding.js";
export { seededRandom } from "./kernels/random.js";
export * from "./kernels/mask.js";
export * from "./kernels/kmeans.js";
export * from "./kernels/lasso.js";
export * from "./kernels/gemm.js";
export * from "./kernels/conv-geometry.js";
export * from "./kernels/im2col.js";
export * from "./kernels/requantize.js";
export * as reference from "./kernels/reference.js";

// Training on tfjs: our backend, the backend choice, and the models the benchmarks train.
export { BACKEND_NAME, PocketflowBackend } from "./backend/backend.js";
export { registerPocketflowBackend, POCKETFLOW_KERNELS } from "./backend/register.js";
export { setBackendThreads, backendThreads } from "./backend/executor.js";
export * from "./train/backend-select.js";

// Data: MNIST / Fashion-MNIST (IDX), CIFAR-10 (binary), synthetic; splits, batches, augmentation.
export { gatherSamples, imageSize, sampleCount, shuffledIndices, sliceDataset, splitValidation, type Dataset, type TrainTestData } from "./data/dataset.js";
export * from "./data/idx.js";
export * from "./data/mnist.js";
export * from "./data/cifar10.js";
export * from "./data/synthetic.js";
export * from "./data/batches.js";

// Models: the framework-independent IR, shapes, cost; tfjs import; file:// model IO in Node.
export * from "./graph/ir.js";
export * from "./graph/shapes.js";
export * from "./graph/cost.js";
export { graphFromTfjs } from "./backend/graph-from-tfjs.js";
export { FileDirectoryHandler, readSidecar, writeSidecar } from "./io/file-handler.js";
export { registerFileIO } from "./io/register-file-io.js";
