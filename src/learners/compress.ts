// compress(): runs a chain of learners over a compressed model and measures the model before
// and after: test and validation accuracy (simulated integer inference for a model with
// activation ranges: evaluateQuantized), MACs, parameters (and those left unpruned), weight
// bytes, and latency measured on our backend and in the engine (int8 for an integer model). What `pocketflow compress` prints; the search
// calls the same chain with its candidates' options.
import { graphCost } from "../graph/cost.js";
import { listMasks, weightOf, type CompressedModel, type WeightQuantization } from "../graph/compressed-model.js";
import { packedSaving } from "../graph/quantized-storage.js";
import { sparseStoredBytes } from "../graph/sparse-storage.js";
import type { Dataset } from "../data/dataset.js";
import type { EnginePrecision } from "../deploy/engine.js";
import { engineRuntime } from "../deploy/engine-runtimes.js";
import { looksInt8 } from "../deploy/int8-model.js";
import { latenciesMs, medianMsAlternately } from "../deploy/latency.js";
import type { LatencyRuntime } from "../deploy/latency-runtimes.js";
import { evaluateGraph } from "../train/evaluate-graph.js";
import { evaluateQuantized, quantizesActivations } from "../train/evaluate-quantized.js";
import type { StepProgress, TrainHooks } from "../train/trainer.js";
import { lastRecord, resolveOptions, type Learner, type LearnerData, type LearnerMode } from "./learner.js";
import { learnerByName } from "./registry.js";

/** One learner of a chain and its options (the declared ones are checked before anything runs). */
export interface ChainStep {
  learner: string | Learner<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- each learner has its own options
  options?: Record<string, unknown>;
}

export interface CompressOptions {
  learners: readonly ChainStep[];
  data: LearnerData;
  /** Accuracy before and after on it (never used to decide anything). */
  test?: Dataset;
  /** Given to every learner that declares a `mode` option and was given none. */
  mode?: LearnerMode;
  /** Measure latency before and after on our backend (default { batch: 1 }; false skips it). */
  latency?: { batch?: number; seconds?: number } | false;
  /** Progress lines ("channel: done in 12 s"). */
  onProgress?(message: string): void;
  /** After every training step of a learner that trains. */
  onStep?(progress: StepProgress): void;
}

export interface ModelMeasurement {
  testAccuracy?: number;
  validationAccuracy?: number;
  macs: number;
  params: number;
  /** Parameters not pruned by a mask. */
  unprunedParams: number;
  /** Bytes of the weights as the model directory stores them (float32 today). */
  weightBytes: number;
  /** Bytes of the weights with each masked weight stored sparse (bitmask + kept values, see sparse-storage.ts), the rest float32. */
  sparseBytes: number;
  /**
   * Bytes of the weights each stored in its smallest layout (see quantized-storage.ts): quantized
   * weights packed at their bits (sparse too when masked), other masked weights sparse, the rest float32.
   */
  packedBytes: number;
  /** Median latency of one batch on our backend, in ms. */
  latencyMs?: number;
  /** Median latency of one batch in our engine (int8 for an integer model, else fp32), in ms. */
  engineLatencyMs?: number;
}

export interface CompressResult {
  model: CompressedModel;
  before: ModelMeasurement;
  after: ModelMeasurement;
  /** What each learner did, as its history entry says. */
  steps: Array<{ learner: string; seconds: number; steps: number; validationAccuracy?: number }>;
  seconds: number;
  /** The engine precisions the models' engineLatencyMs were measured at, before and after. */
  enginePrecisions?: [EnginePrecision, EnginePrecision];
}

/** Bytes saved against float32 by storing every masked or quantized weight packed (quantized-storage.ts). */
function packedWeightSaving(model: CompressedModel): number {
  const weights = new Map<string, { length: number; kept: number; quantization?: WeightQuantization }>();
  for (const [id, name, mask] of listMasks(model)) weights.set(`${id}/${name}`, { length: mask.kept.length, kept: mask.kept.reduce((ones, bit) => ones + bit, 0) });
  for (const [id, node] of Object.entries(model.quantization)) {
    for (const [name, quantization] of Object.entries(node.weights ?? {})) {
      const length = weightOf(model.graph, id, name).values.length;
      weights.set(`${id}/${name}`, { length, kept: length, ...weights.get(`${id}/${name}`), quantization });
    }
  }
  return [...weights.values()].reduce((sum, weight) => sum + packedSaving(weight.length, weight.quantization, weight.kept), 0);
}

/** Measures what the summary shows of a model, latency aside (see latenciesMs). */
export function measureModel(model: CompressedModel, data: { validation?: Dataset; test?: Dataset; normalization?: LearnerData["normalization"] }): ModelMeasurement {
  const cost = graphCost(model.graph);
  const masks = listMasks(model).map(([, , mask]) => ({ length: mask.kept.length, kept: mask.kept.reduce((ones, bit) => ones + bit, 0) }));
  const pruned = masks.reduce((sum, mask) => sum + mask.length - mask.kept, 0);
  const sparseSaving = masks.reduce((sum, mask) => sum + 4 * mask.length - sparseStoredBytes(mask.length, mask.kept), 0);
  // a model with activation ranges computes with quantized activations, which the float graph alone does not say
  const evaluation = quantizesActivations(model) ? (dataset: Dataset) => evaluateQuantized(model, dataset, { normalization: data.normalization })
    : (dataset: Dataset) => evaluateGraph(model.graph, dataset, { normalization: data.normalization });
  const accuracy = (dataset: Dataset | undefined) => (dataset === undefined ? undefined : evaluation(dataset).accuracy);
  return {
    testAccuracy: accuracy(data.test),
    validationAccuracy: accuracy(data.validation),
    macs: cost.macs,
    params: cost.params,
    unprunedParams: cost.params - pruned,
    weightBytes: 4 * cost.params,
    sparseBytes: 4 * cost.params - sparseSaving,
    packedBytes: 4 * cost.params - packedWeightSaving(model),
  };
}


/** The chain's learners with their options resolved: a bad option fails before the first learner runs. */
function resolveChain(options: CompressOptions): Array<{ learner: Learner<unknown>; options: Record<string, unknown> }> {
  if (options.learners.length === 0) throw new RangeError("compress: learners must name at least one learner");
  return options.learners.map((step) => {
    const learner = (typeof step.learner === "string" ? learnerByName(step.learner) : step.learner) as Learner<unknown>;
    const declaresMode = learner.options.some((spec) => spec.name === "mode");
    const given: Record<string, unknown> = { ...(declaresMode && options.mode !== undefined ? { mode: options.mode } : {}), ...step.options };
    const onProgress = options.onProgress;
    if (onProgress !== undefined && given.progress === undefined) given.progress = (message: string) => onProgress(`${learner.name}: ${message}`);
    const onStep = options.onStep;
    if (onStep !== undefined) {
      const hooks = given.hooks as TrainHooks | undefined;
      given.hooks = { ...hooks, onStep: (progress: StepProgress) => { onStep(progress); return hooks?.onStep?.(progress); } };
    }
    return { learner, options: resolveOptions(learner, given) as Record<string, unknown> };
  });
}

/** Runs the learners in order, each on the previous one's output; see CompressOptions. */
export async function compress(model: CompressedModel, options: CompressOptions): Promise<CompressResult> {
  const chain = resolveChain(options);
  const started = performance.now();
  const measured = { validation: options.data.validation, test: options.test, normalization: options.data.normalization };
  const progress = options.onProgress ?? (() => {});
  progress("measuring the input model");
  const before = measureModel(model, measured);
  let current = model;
  const steps: CompressResult["steps"] = [];
  for (const [index, { learner, options: learnerOptions }] of chain.entries()) {
    progress(`${learner.name} (${index + 1}/${chain.length}): running`);
    current = await learner.compress(current, options.data, learnerOptions);
    const record = lastRecord(current);
    steps.push({ learner: learner.name, seconds: record?.seconds ?? 0, steps: record?.steps ?? 0, validationAccuracy: record?.validationAccuracy });
    progress(`${learner.name} (${index + 1}/${chain.length}): done in ${Math.round(record?.seconds ?? 0)} s`);
  }
  progress("measuring the compressed model");
  const after = measureModel(current, measured);
  let enginePrecisions: [EnginePrecision, EnginePrecision] | undefined;
  if (options.latency !== false) {
    progress("timing both models, alternately");
    [before.latencyMs, after.latencyMs] = await latenciesMs([model.graph, current.graph], options.latency);
    progress("timing both models in the engine, alternately");
    const [engineBefore, engineAfter] = await engineLatenciesMs([model, current], options.latency);
    [before.engineLatencyMs, after.engineLatencyMs] = [engineBefore.medianMs, engineAfter.medianMs];
    enginePrecisions = [engineBefore.precision, engineAfter.precision];
  }
  return { model: current, before, after, steps, seconds: (performance.now() - started) / 1000, enginePrecisions };
}

/**
 * Median ms per batch of each model in our engine, timed alternately (see measureLatency): an
 * integer model (deploy/int8-model.ts) in the int8 engine, any other in the fp32 engine. What a
 * deployed model costs, beside the tfjs-backend latency of the compress summary.
 */
async function engineLatenciesMs(models: readonly CompressedModel[], options: { batch?: number; seconds?: number } = {}): Promise<Array<{ precision: EnginePrecision; medianMs: number }>> {
  const precisions = models.map((model): EnginePrecision => (looksInt8(model) ? "int8" : "fp32"));
  const runtimes: LatencyRuntime[] = models.map((model, i) => ({
    name: `model ${i}`,
    load: (_graph, input) => engineRuntime(precisions[i]).load(model.graph, input, model),
  }));
  const medians = await medianMsAlternately(models[0].graph, runtimes, options);
  return medians.map((medianMs, i) => ({ precision: precisions[i], medianMs }));
}
