// pocketflow-js public API: the compute core (SIMD kernels, their pool, their reference twins),
// the training backend and trainer, the model IR and the compressed model, learners and their
// chain (compress), activation taps, measured latency.
export { KernelCore, kernels, type TypedArray } from "./kernels/core.js";
export { KernelPool, type KernelPoolOptions } from "./kernels/pool.js";
export { SyncKernelPool, type SyncKernelPoolOptions } from "./kernels/sync-pool.js";
export { runInline, type KernelCall, type KernelOperation, type OperationBuilder } from "./kernels/operation.js";
export * from "./kernels/grouping.js";
export * from "./kernels/quant-params.js";
export * from "./kernels/quantize.js";
export { roundHalfEven } from "./kernels/rounding.js";
export { seededRandom } from "./util/random.js";
export * from "./kernels/mask.js";
export * from "./kernels/kmeans.js";
export * from "./kernels/lasso.js";
export * from "./kernels/gemm.js";
export * from "./kernels/conv-geometry.js";
export * from "./kernels/im2col.js";
export * from "./kernels/requantize.js";
export * from "./kernels/batchnorm.js";
export { sgdMomentum as sgdMomentumUpdate, adam as adamUpdate, sgdMomentumOp, adamOp, type SgdMomentumParams, type AdamParams } from "./kernels/optimizers.js";
export * as reference from "./kernels/reference.js";

// Training on tfjs: our backend and the backend choice.
export { BACKEND_NAME, PocketflowBackend } from "./backend/backend.js";
export { registerPocketflowBackend, POCKETFLOW_KERNELS } from "./backend/register.js";
export { setBackendThreads, backendThreads } from "./backend/executor.js";
export { setWinogradEnabled } from "./kernels/winograd.js";
export { fusedBatchNormTraining, type FusedBatchNormTrainingOptions, type FusedBatchNormTrainingOutputs } from "./backend/batch-norm-training.js";
export { PocketflowBatchNormalization, pocketflowBatchNormalization } from "./tfjs/batch-norm-layer.js";
export * from "./train/backend-select.js";

// The trainer: optimizers, schedules, losses and distillation, checkpoints, evaluation, recipes.
export { train, computeGradients, applyGradients, modelParameters, epochSeed, type TrainOptions, type TrainHooks, type TrainResult, type StepProgress } from "./train/trainer.js";
export * from "./train/optimizers.js";
export * from "./train/schedule.js";
export * from "./train/losses.js";
export * from "./train/evaluate.js";
export { evaluateGraph } from "./train/evaluate-graph.js";
export { readCheckpoint, writeCheckpoint, type Checkpoint, type EpochMetrics } from "./train/checkpoint.js";
export { straightThrough, type StraightThroughOptions } from "./train/straight-through.js";
export { defaultRecipe, type TrainingRecipe } from "./train/recipes.js";

// Learners: one interface; FullPrecLearner is plain training.
export * from "./learners/learner.js";
export { FullPrecLearner, type FullPrecOptions } from "./learners/full-prec.js";
export { compress, measureModel, type ChainStep, type CompressOptions, type CompressResult, type ModelMeasurement } from "./learners/compress.js";
export { learnerByName, learnerNames } from "./learners/registry.js";
export { ChannelPrunedLearner, type ChannelPrunedOptions } from "./learners/channel-pruned.js";
export { DisChnPrunedLearner, type DisChnPrunedOptions } from "./learners/dis-chn-pruned.js";
export { selectChannels, reconstructKernel, relativeReconstructionError, type ChannelSelectionMethod, type ConvSamples } from "./learners/channel-selection.js";
export { prunableLayers as channelPrunableLayers, channelsForBudget, thinnedMacs } from "./learners/channel-budget.js";
export { WeightSparseLearner, scheduledSparsity, pruningSchedule, heuristicSparsities, type WeightSparseOptions } from "./learners/weight-sparse.js";
export { UniformQuantTFLearner, UNIFORM_TF_TRAINING, activationRoles, snapWeights, type UniformQuantTFOptions, type ActivationRole } from "./learners/uniform-quant-tf.js";
export { evaluateQuantized, quantizedForward, quantizesActivations, activationGrids, weightsOnGrid, type QuantizedForward } from "./train/evaluate-quantized.js";
export * from "./graph/sparse-storage.js";
export { UniformQuantLearner, quantizeUniform, uniformQuantPart, type UniformQuantOptions } from "./learners/uniform-quant.js";
export { NonUniformQuantLearner, codebookPart, initialCodebook, type NonUniformQuantOptions, type CodebookTraining } from "./learners/non-uniform-quant.js";
export { bitsWithinBudget, planQuantization, type GroupingKind, type WeightQuantizationOptions } from "./learners/quantization-plan.js";
export * from "./graph/quantized-storage.js";
export { shrinkChannels, shrinkCompressedModel, type ChannelChoice } from "./graph/shrink.js";
export { composeTraining, maskTrainingPart, mergeHooks, type TrainingPart, type ComposedTraining, type WeightVariable } from "./train/training-parts.js";

// The model zoo, as model IR graphs with seeded weights.
export * from "./nets/zoo.js";
export { lenet } from "./nets/lenet.js";
export { convnet } from "./nets/convnet.js";
export { resnet, type ResNetOptions } from "./nets/resnet.js";
export { mobilenetV1 } from "./nets/mobilenet-v1.js";
export { mobilenetV2, makeDivisible } from "./nets/mobilenet-v2.js";
export { GraphBuilder, heNormal, glorotUniform, type NetOptions, type MobileNetOptions } from "./nets/builder.js";

// Data: MNIST / Fashion-MNIST (IDX), CIFAR-10 (binary), synthetic; splits, batches, augmentation.
export { gatherSamples, imageSize, sampleCount, shuffledIndices, sliceDataset, splitValidation, type Dataset, type TrainTestData } from "./data/dataset.js";
export * from "./data/idx.js";
export * from "./data/mnist.js";
export * from "./data/cifar10.js";
export * from "./data/synthetic.js";
export * from "./data/batches.js";
export * from "./data/registry.js";

// Models: the framework-independent IR, shapes, cost; tfjs import; file:// model IO in Node.
export * from "./graph/ir.js";
export * from "./graph/shapes.js";
export * from "./graph/cost.js";
export { graphFromTfjs } from "./tfjs/graph-from-tfjs.js";
export { buildTfjsModel, copyWeightsToGraph, markAuxiliary, type BuildTfjsOptions, type NodeOverride } from "./tfjs/tfjs-from-graph.js";
export { parameterName, irWeightName, irWeightOfParameter } from "./tfjs/weight-names.js";
// The compressed model learners pass along a chain (graph + masks + quantization + history), in model directories.
export * from "./graph/compressed-model.js";
export { saveCompressedModel, loadCompressedModel, sidecarOf, compressedModelOf, type LoadedCompressedModel } from "./io/compressed-model-dir.js";
export { collectActivations, type ActivationTapOptions, type ActivationTaps, type NodeActivations } from "./tfjs/activation-taps.js";
export * from "./graph/coupling.js";
export {
  saveModel, loadModel, newSidecar, appendHistory, SIDECAR_FORMAT_VERSION, PRODUCED_BY,
  type ModelSidecar, type HistoryEntry, type WeightMask, type NodeQuantization, type LoadedModel,
} from "./io/model-dir.js";
export { FileDirectoryHandler, readSidecar, writeSidecar } from "./io/file-handler.js";
export { registerFileIO } from "./io/register-file-io.js";

// Deploy: measured latency and throughput on several runtimes, timed alternately.
export { measureLatency, pocketflowLatencyMs, latenciesMs, randomInput, type LatencyOptions, type LatencySummary, type RuntimeLatency } from "./deploy/latency.js";
export {
  RUNTIME_NAMES, isRuntimeName, tfjsRuntime,
  type RuntimeName, type LatencyRuntime, type LoadedRuntime, type LatencyInput, type TfjsRuntimeOptions,
} from "./deploy/latency-runtimes.js";

// Deploy: the engine (fp32 and integer-only int8, no tfjs), the integer-model contract, the engine's model file.
export { loadEngine, type Engine, type EngineOptions, type EnginePrecision } from "./deploy/engine.js";
export { engineRuntime, onnxRuntime, logitsGraph, ENGINE_RUNTIME_NAMES, type EngineRuntimeName } from "./deploy/engine-runtimes.js";
export { checkInt8Model, looksInt8, activationParams, uint8Params, outputChannelGrouping, fusedActivations, INT8_OPS, type ActivationParams } from "./deploy/int8-model.js";
export { packModel, unpackModel, MODEL_PACK_FORMAT } from "./deploy/model-pack.js";
export { foldBatchNorms, foldBatchNormsOf, unfoldableBatchNorms } from "./graph/fold-batch-norm.js";

// Export: ONNX (float; int8 QDQ or QOperator) and tfjs LayersModel directories with quantized weights.
export { exportOnnx, exportOnnxFloat, saveOnnx, type OnnxExportOptions, type OnnxFlavor } from "./export/onnx.js";
export { ExportError } from "./export/onnx-builder.js";
export { saveTfjs, quantizedArtifacts, type TfjsExportOptions, type TfjsExportSummary, type StoredWeight, type WeightStorage } from "./export/tfjs.js";

// Search: the space, ask/tell optimizers (random, TPE, GP, DDPG), budgets as repairs, the search loop over isolated trials with its resumable log, the report.
export { channelBudget, sparsityTarget, bitsBudget, constraintFor, walkRepair, type LayerConstraint } from "./search/constraints.js";
export { Ddpg, type DdpgOptions } from "./search/ddpg.js";
export { searchSpace, spaceOfHyperParameters, optionsOfPoint, pointOfOptions, pointFromUnit, unitOfPoint, type SearchSpace, type Dimension, type Point } from "./search/space.js";
export type { Optimizer, OptimizerOptions, TrialResult } from "./search/optimizer.js";
export { RandomSearch } from "./search/random-search.js";
export { TpeOptimizer, type TpeOptions } from "./search/tpe.js";
export { GpOptimizer, type GpOptions } from "./search/gp.js";
export { optimizerByName, OPTIMIZERS } from "./search/optimizers.js";
export { planSearch, runSearch, retrainBest, layerValues, type SearchOptions, type SearchPlan, type SearchProgress, type SearchResult } from "./search/search-loop.js";
export { reward, REWARD_NAMES, type RewardName } from "./search/rewards.js";
export { appendTrial, readTrials, TRIAL_LOG, type TrialRecord, type TrialMetrics } from "./search/trial-log.js";
export { InlineTrialRunner, WorkerTrialRunner, type TrialRunner, type TrialWorkerData, type WorkerRunnerOptions } from "./search/trial-runner.js";
export { searchReport, escapeHtml } from "./search/report.js";
