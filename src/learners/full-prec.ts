// FullPrecLearner: plain training of the model as it is, PocketFlow's baseline learner. The IR
// graph is built into a tfjs model that outputs logits, trained by the trainer, and the trained
// weights (batch-norm statistics included) are written back into a copy of the graph.
import { buildTfjsModel, copyWeightsToGraph } from "../tfjs/tfjs-from-graph.js";
import type { Graph } from "../graph/ir.js";
import type { EpochMetrics } from "../train/checkpoint.js";
import { evaluate, modelForward } from "../train/evaluate.js";
import { train, type TrainOptions } from "../train/trainer.js";
import type { CompressedModel, Learner, LearnerData, LearnerMode } from "./learner.js";

export interface FullPrecOptions extends Omit<TrainOptions, "normalization" | "augmentation" | "validation" | "forward" | "distillation"> {
  /** 'fast' stops after fastSteps steps (default 'full': every epoch). */
  mode?: LearnerMode;
  /** Steps of a fast fine-tune (default 100). */
  fastSteps?: number;
  /** Batch-norm moving-average momentum of the built model (default 0.9: settles within a short run). */
  batchNormMomentum?: number;
  /** Train with distillation from the input model (PocketFlow's enbl_dst: teacher = the uncompressed model). */
  distillation?: { weight?: number; temperature?: number };
  /** Called at every epoch end with the weights so far, e.g. to save a snapshot a long run can be used from. */
  onEpochSnapshot?(graph: Graph, metrics: EpochMetrics): Promise<void>;
}

export class FullPrecLearner implements Learner<FullPrecOptions> {
  readonly name = "full-prec";

  async compress(model: Graph, data: LearnerData, options: FullPrecOptions): Promise<CompressedModel> {
    const { mode = "full", fastSteps = 100, batchNormMomentum = 0.9, distillation, onEpochSnapshot, ...trainOptions } = options;
    const started = performance.now();
    const student = buildTfjsModel(model, { withoutSoftmax: true, batchNormMomentum });
    const teacher = distillation === undefined ? undefined : buildTfjsModel(model, { withoutSoftmax: true });
    try {
      const result = await train(student, data.train, {
        ...trainOptions,
        normalization: data.normalization,
        augmentation: data.augmentation,
        validation: data.validation,
        maxSteps: mode === "fast" ? Math.min(fastSteps, trainOptions.maxSteps ?? Infinity) : trainOptions.maxSteps,
        distillation: teacher === undefined ? undefined : { ...distillation, teacher },
        hooks: onEpochSnapshot === undefined ? trainOptions.hooks : {
          ...trainOptions.hooks,
          onEpochEnd: async (metrics) => {
            await trainOptions.hooks?.onEpochEnd?.(metrics);
            await onEpochSnapshot(copyWeightsToGraph(student, structuredClone(model)), metrics);
          },
        },
      });
      const graph = copyWeightsToGraph(student, structuredClone(model));
      const lastEpoch = result.history.at(-1);
      const validationAccuracy = data.validation === undefined ? undefined
        : !result.stoppedEarly && lastEpoch?.validationAccuracy !== undefined ? lastEpoch.validationAccuracy
          : evaluate(modelForward(student), data.validation, { normalization: data.normalization }).accuracy;
      const { epochs, batchSize, seed, optimizer, schedule, weightDecay } = trainOptions;
      return {
        graph,
        record: {
          learner: this.name, mode, validationAccuracy, steps: result.globalStep, seconds: (performance.now() - started) / 1000,
          options: { epochs, batchSize, seed, optimizer, schedule, weightDecay, distillation },
        },
      };
    } finally {
      student.dispose();
      teacher?.dispose();
    }
  }
}
