// FullPrecLearner: plain training of the model as it is, PocketFlow's baseline learner. The IR
// graph is built into a tfjs model that outputs logits, trained by the trainer, and the trained
// weights (batch-norm statistics included) are written back into a copy of the graph. A pruned
// model stays pruned: its masks take part in the training (pruned weights get no gradient). A
// quantized one is refused: float training would move its weights off their grid.
import { applyMasks, withHistory, type CompressedModel } from "../graph/compressed-model.js";
import type { Graph } from "../graph/ir.js";
import { buildTfjsModel, copyWeightsToGraph } from "../tfjs/tfjs-from-graph.js";
import type { EpochMetrics } from "../train/checkpoint.js";
import { evaluate } from "../train/evaluate.js";
import { train, type TrainOptions, type TrainResult } from "../train/trainer.js";
import { composeTraining, maskTrainingPart, mergeHooks } from "../train/training-parts.js";
import { LearnerRefusedError, resolveOptions, type HyperParameter, type Learner, type LearnerData, type LearnerMode, type LearnerOptionSpec, type LearnerRecord } from "./learner.js";

export interface FullPrecOptions extends Omit<TrainOptions, "normalization" | "augmentation" | "validation" | "forward" | "distillation" | "extraParameters" | "lossTerms"> {
  /** 'fast' stops after fastSteps steps (default 'full': every epoch). */
  mode?: LearnerMode;
  /** Steps of a fast fine-tune (default 100). */
  fastSteps?: number;
  /** Batch-norm moving-average momentum of the built model (default 0.9: settles within a short run). */
  batchNormMomentum?: number;
  /** Train with distillation from the input model (PocketFlow's enbl_dst: teacher = the uncompressed model). */
  distillation?: { weight?: number; temperature?: number };
  /** The teacher of the distillation when it is not the input model (a pruner's original model). */
  teacherGraph?: Graph;
  /** Called at every epoch end with the weights so far, e.g. to save a snapshot a long run can be used from. */
  onEpochSnapshot?(graph: Graph, metrics: EpochMetrics): Promise<void>;
}

const OPTIONS: readonly LearnerOptionSpec[] = [
  { name: "mode", kind: "choice", choices: ["fast", "full"], default: "full", help: "fast: fastSteps steps (inside a search); full: every epoch" },
  { name: "fastSteps", kind: "integer", min: 1, default: 100, help: "steps of a fast fine-tune" },
  { name: "epochs", kind: "integer", min: 1, help: "epochs of a full run" },
  { name: "batchSize", kind: "integer", min: 1, help: "images per step" },
  { name: "weightDecay", kind: "number", min: 0, help: "L2 decay of conv/dense kernels" },
  { name: "seed", kind: "integer", min: 0, default: 0, help: "seed of the shuffles and augmentation" },
  { name: "batchNormMomentum", kind: "number", min: 0, max: 0.999, default: 0.9, help: "batch-norm moving-average momentum" },
];

export class FullPrecLearner implements Learner<FullPrecOptions> {
  readonly name = "full-prec";
  readonly description = "plain (re-)training of the model as it is; keeps a pruned model's masks";
  readonly options = OPTIONS;

  /** Plain training has no hyper-parameter a compression search drives. */
  searchSpace(): HyperParameter[] {
    return [];
  }

  async compress(model: CompressedModel, data: LearnerData, given: FullPrecOptions): Promise<CompressedModel> {
    const quantized = Object.keys(model.quantization);
    if (quantized.length > 0) {
      throw new LearnerRefusedError(this.name, `${quantized.length} of its nodes are quantized (first: '${quantized[0]}'); float training would move their weights off the quantization grid, so train before quantizing or fine-tune with the quantizing learner`);
    }
    const options = resolveOptions(this, given);
    const started = performance.now();
    const { graph, result, validationAccuracy } = await this.run(model, data, options);
    const { mode = "full", epochs, batchSize, seed, optimizer, schedule, weightDecay, distillation } = options;
    const record: LearnerRecord = {
      learner: this.name, mode, validationAccuracy, steps: result.globalStep, seconds: (performance.now() - started) / 1000,
      options: { epochs, batchSize, seed, optimizer, schedule, weightDecay, distillation },
    };
    return withHistory(applyMasks({ ...model, graph }), "train", { ...record });
  }

  /** Trains a copy of the model's graph with its masks; the teacher, when asked, is the input model. */
  private async run(model: CompressedModel, data: LearnerData, options: FullPrecOptions): Promise<{ graph: Graph; result: TrainResult; validationAccuracy?: number }> {
    const { mode = "full", fastSteps = 100, batchNormMomentum = 0.9, distillation, teacherGraph, onEpochSnapshot, ...trainOptions } = options;
    const composed = composeTraining(model.graph, [maskTrainingPart(model)], { batchNormMomentum });
    const teacher = distillation === undefined ? undefined : buildTfjsModel(teacherGraph ?? model.graph, { withoutSoftmax: true });
    const snapshotOf = (): Graph => applyMasks({ ...model, graph: copyWeightsToGraph(composed.model, structuredClone(model.graph)) }).graph;
    try {
      const result = await train(composed.model, data.train, {
        ...trainOptions,
        ...composed.trainOptions,
        normalization: data.normalization,
        augmentation: data.augmentation,
        validation: data.validation,
        maxSteps: mode === "fast" ? Math.min(fastSteps, trainOptions.maxSteps ?? Infinity) : trainOptions.maxSteps,
        distillation: teacher === undefined ? undefined : { ...distillation, teacher },
        hooks: mergeHooks(onEpochSnapshot === undefined ? trainOptions.hooks : {
          ...trainOptions.hooks,
          onEpochEnd: async (metrics) => {
            await trainOptions.hooks?.onEpochEnd?.(metrics);
            await onEpochSnapshot(snapshotOf(), metrics);
          },
        }, composed.trainOptions.hooks),
      });
      const lastEpoch = result.history.at(-1);
      const validationAccuracy = data.validation === undefined ? undefined
        : !result.stoppedEarly && lastEpoch?.validationAccuracy !== undefined ? lastEpoch.validationAccuracy
          : evaluate(composed.trainOptions.forward, data.validation, { normalization: data.normalization }).accuracy;
      return { graph: snapshotOf(), result, validationAccuracy };
    } finally {
      composed.dispose();
      teacher?.dispose();
    }
  }
}
