// DisChnPrunedLearner (Zhuang et al. 2018, "Discrimination-aware Channel Pruning for Deep Neural
// Networks"; PocketFlow's DisChnPrunedLearner), learner `dis-chn`.
// The prunable convs are split into stages of consecutive layers; each stage but the last ends
// in an auxiliary classifier on the output of its last layer's block (dis-chn-heads.ts). Per stage:
//   1. fine-tune the model on the stage's auxiliary loss plus the network loss (Adam);
//   2. for each layer of the stage, select the input channels to keep greedily by the gradient
//      of reconstruction + auxiliary loss, refining the layer between additions
//      (dis-chn-selection.ts); then remove the others for real (shrink.ts). The refinement is
//      the paper's reconstruction; a least-squares re-fit on the original's outputs (He et al.'s
//      step, `reconstruct`) is optional and off by default: it fits the layer to the original's
//      outputs alone, undoing what the refinement fitted to L_p, while the batch norm after the
//      layer has adapted to the refined outputs (it costs accuracy before the fine-tune);
// then 3. fine-tune the whole pruned network on the network loss, by default distilling from
// the original. PocketFlow's step counts are for full CIFAR-10 runs (10,000 per stage, 500 per
// layer and channel); the defaults here are sized for a fine-tune and are options.
import * as tf from "@tensorflow/tfjs-core";
import { batches, type Batch } from "../data/batches.js";
import { sampleCount } from "../data/dataset.js";
import { applyMasks, withHistory, type CompressedModel } from "../graph/compressed-model.js";
import type { Graph } from "../graph/ir.js";
import { copyWeightsToGraph } from "../tfjs/tfjs-from-graph.js";
import { crossEntropy } from "../train/losses.js";
import { train } from "../train/trainer.js";
import { composeTraining, maskTrainingPart, type TrainingPart } from "../train/training-parts.js";
import { keptChannelsOf, prunableLayers, thinLayerInputs, uniformRatiosBaseline, type PrunableLayer } from "./channel-budget.js";
import { convSamples } from "./channel-samples.js";
import { reconstructKernel, relativeReconstructionError } from "./channel-selection.js";
import { AuxiliaryHead, blockEnd } from "./dis-chn-heads.js";
import { selectDiscriminativeChannels, type DiscriminativeSelection } from "./dis-chn-selection.js";
import type { FullPrecOptions } from "./full-prec.js";
import { LearnerRefusedError, lastRecord, resolveOptions, type HyperParameter, type Learner, type LearnerData, type LearnerOptionSpec, type SearchBaseline } from "./learner.js";
import { BUDGET_OPTIONS, FINETUNE_OPTIONS, SAMPLING_OPTIONS, fineTunePruned, type ChannelPruningOptions } from "./pruning-options.js";

export interface DisChnPrunedOptions extends Omit<FullPrecOptions, "distillation" | "teacherGraph" | "onEpochSnapshot" | "epochs" | "batchSize">, ChannelPruningOptions {
  /** Epochs of a full final fine-tune (default 1). */
  epochs?: number;
  /** Images per step, in every step (default 64). */
  batchSize?: number;
  /** Stages the prunable convs are split into, each but the last with an auxiliary classifier (default 3, at most one per layer). */
  stages?: number;
  /** Adam steps of each stage's fine-tune on auxiliary + network loss (PocketFlow: 10,000), default 100; 0 skips it. */
  stageSteps?: number;
  /** Adam steps refining a layer after each round of added channels (PocketFlow: 500), default 10. */
  layerSteps?: number;
  /** Rounds in which a layer's kept channels are added (the paper: one channel per round), default 4. */
  selectionRounds?: number;
  /** Adam's learning rate in steps 1 and 2 (PocketFlow's dcp_lrn_rate_adam), default 1e-3. */
  learningRate?: number;
  /** 'gradient' (the paper's criterion) or 'random' (the baseline it must beat), default 'gradient'. */
  selection?: DiscriminativeSelection;
  /** Least-squares re-fit of the kept weights after each layer is thinned (default false). */
  reconstruct?: boolean;
}

const OPTIONS: readonly LearnerOptionSpec[] = [
  ...BUDGET_OPTIONS,
  { name: "stages", kind: "integer", min: 1, default: 3, help: "stages of prunable convs, each but the last with an auxiliary classifier" },
  { name: "stageSteps", kind: "integer", min: 0, default: 100, help: "Adam steps of each stage's fine-tune (auxiliary + network loss)" },
  { name: "layerSteps", kind: "integer", min: 0, default: 10, help: "Adam steps refining a layer after each round of added channels" },
  { name: "selectionRounds", kind: "integer", min: 1, default: 4, help: "rounds in which a layer's kept channels are added" },
  { name: "learningRate", kind: "number", min: 0, default: 1e-3, help: "Adam learning rate of the stage and layer steps" },
  { name: "selection", kind: "choice", choices: ["gradient", "random"], default: "gradient", help: "how input channels are chosen" },
  { name: "reconstruct", kind: "flag", default: false, help: "least-squares re-fit of the kept weights on the original's outputs" },
  ...SAMPLING_OPTIONS,
  ...FINETUNE_OPTIONS,
  { name: "batchSize", kind: "integer", min: 1, default: 64, help: "images per step" },
  { name: "seed", kind: "integer", min: 0, default: 0, help: "seed of the heads, batches, samples and shuffles" },
];

const NAME = "dis-chn";

/** Consecutive prunable convs; the head reads `head.nodeId` (absent in the last stage). */
interface Stage {
  layers: PrunableLayer[];
  head?: { nodeId: string; head: AuxiliaryHead };
}

interface LayerReport {
  layer: string;
  stage: number;
  channels: number;
  kept: number;
  /** The kept input channels of the original layer, ascending. */
  keptChannels: number[];
  relativeError?: number;
}

type Resolved = DisChnPrunedOptions & Required<Pick<DisChnPrunedOptions, "stages" | "stageSteps" | "layerSteps" | "selectionRounds" | "learningRate" | "batchSize" | "seed" | "channelMultiple">>;

/** `count` stages of consecutive layers (as even as can be); each but the last gets a head at its last layer's block end. */
function splitStages(graph: Graph, layers: readonly PrunableLayer[], count: number, classes: number, seed: number): Stage[] {
  const stages = Math.min(count, layers.length);
  return Array.from({ length: stages }, (_, index) => {
    const members = layers.slice(Math.floor((index * layers.length) / stages), Math.floor(((index + 1) * layers.length) / stages));
    if (index === stages - 1) return { layers: members };
    const nodeId = blockEnd(graph, (members.at(-1) as PrunableLayer).id);
    return { layers: members, head: { nodeId, head: new AuxiliaryHead(`dis_chn_head${index + 1}`, classes, seed + index) } };
  });
}

/** Shuffled training batches, epoch after epoch, for the selection's scoring and refinement. */
function batchStream(data: LearnerData, batchSize: number, seed: number): () => Batch {
  let epoch = 0;
  const epochBatches = () => batches(data.train, { batchSize, shuffle: true, seed: seed + epoch, normalization: data.normalization, keepPartial: false });
  let current = epochBatches();
  return () => {
    let next = current.next();
    if (next.done === true) {
      epoch += 1;
      current = epochBatches();
      next = current.next();
    }
    return next.value as Batch;
  };
}

export class DisChnPrunedLearner implements Learner<DisChnPrunedOptions> {
  readonly name = NAME;
  readonly description = "discrimination-aware channel pruning (Zhuang et al. 2018): auxiliary losses per stage, greedy gradient selection, channels removed for real";
  readonly options = OPTIONS;

  searchSpace(model: CompressedModel): HyperParameter[] {
    return [{ option: "ratios", kind: "continuous", low: 0.1, high: 1, perLayer: prunableLayers(model.graph).map((layer) => layer.id) }];
  }

  /** The uniform ratio, as preserveRatio alone prunes. */
  searchBaselines(model: CompressedModel, options: DisChnPrunedOptions): SearchBaseline[] {
    return [uniformRatiosBaseline(model.graph, options.preserveRatio ?? 0.5, options.channelMultiple ?? 8)];
  }

  async compress(model: CompressedModel, data: LearnerData, given: DisChnPrunedOptions): Promise<CompressedModel> {
    const options = resolveOptions(this, given) as Resolved;
    const started = performance.now();
    const { kept, stages } = this.plan(model, data, options);
    const nextBatch = batchStream(data, options.batchSize, options.seed);
    let current = model;
    let steps = 0;
    const reports: LayerReport[] = [];
    for (const [index, stage] of stages.entries()) {
      const tuned = await this.fineTuneStage(current, stage, data, options);
      current = tuned.model;
      steps += tuned.steps;
      for (const layer of stage.layers) {
        const keep = kept.get(layer.id) ?? layer.channels;
        if (keep === layer.channels) continue;
        const pruned = this.pruneLayer(model.graph, current, layer, keep, stage, index, data, nextBatch, options);
        current = pruned.model;
        steps += pruned.steps;
        reports.push(pruned.report);
        options.progress?.(`stage ${index + 1}/${stages.length}, ${layer.id}: kept ${keep} of ${layer.channels} input channels (${Math.round((performance.now() - started) / 1000)} s)`);
      }
    }
    const final = await fineTunePruned(model.graph, current, data, options, OPTIONS);
    const record = lastRecord(final);
    return withHistory({ ...final, history: current.history }, "prune", {
      learner: this.name, mode: options.finetune === "full" ? "full" : "fast", validationAccuracy: record?.validationAccuracy,
      steps: steps + (final === current ? 0 : record?.steps ?? 0), seconds: (performance.now() - started) / 1000,
      options: this.recordedOptions(options, stages.length),
      stages: stages.map((stage) => ({ layers: stage.layers.map((layer) => layer.id), head: stage.head?.nodeId })),
      layers: reports,
    });
  }

  /** Checks the input and the options before any work; the kept channel count per layer and the stages. */
  private plan(model: CompressedModel, data: LearnerData, options: Resolved): { kept: Map<string, number>; stages: Stage[] } {
    const quantized = Object.keys(model.quantization);
    if (quantized.length > 0) throw new LearnerRefusedError(this.name, `it is quantized ('${quantized[0]}', ...); prune before quantizing`);
    const layers = prunableLayers(model.graph);
    if (layers.length === 0) throw new LearnerRefusedError(this.name, `graph '${model.graph.name}' has no conv whose input channels can be pruned (a group produced by convs and read by that conv alone)`);
    const clash = model.graph.nodes.find((node) => node.id.startsWith("dis_chn_head"));
    if (clash !== undefined) throw new LearnerRefusedError(this.name, `node '${clash.id}' takes a name of the auxiliary heads (dis_chn_head*); rename it`);
    const samples = sampleCount(data.train);
    if (samples < options.batchSize) throw new RangeError(`learner '${this.name}': batchSize must be at most the ${samples} training samples, but got ${options.batchSize}; use a smaller batchSize`);
    const kept = keptChannelsOf(this.name, model.graph, layers, options.preserveRatio ?? 0.5, options.ratios, options.channelMultiple);
    return { kept, stages: splitStages(model.graph, layers, options.stages, data.train.numClasses, options.seed) };
  }

  /** Step 1: Adam on the stage's auxiliary loss + the network loss; the head keeps what it learnt for step 2. */
  private async fineTuneStage(current: CompressedModel, stage: Stage, data: LearnerData, options: Resolved): Promise<{ model: CompressedModel; steps: number }> {
    if (options.stageSteps === 0) return { model: current, steps: 0 };
    const head = stage.head;
    const auxiliary: TrainingPart | undefined = head === undefined ? undefined : {
      name: "dis-chn auxiliary classifier",
      overrides: { [head.nodeId]: { heads: (features) => [head.head.attach(features)] } },
      loss: (_logits, labels, heads) => crossEntropy(labels, heads[0] as tf.Tensor2D),
    };
    const composed = composeTraining(current.graph, [maskTrainingPart(current), auxiliary], { batchNormMomentum: options.batchNormMomentum ?? 0.9 });
    try {
      const stepsPerEpoch = Math.floor(sampleCount(data.train) / options.batchSize);
      const result = await train(composed.model, data.train, {
        ...composed.trainOptions,
        epochs: Math.ceil(options.stageSteps / stepsPerEpoch), maxSteps: options.stageSteps, batchSize: options.batchSize, seed: options.seed,
        optimizer: { kind: "adam" }, schedule: { schedule: { kind: "constant", learningRate: options.learningRate } },
        normalization: data.normalization, augmentation: data.augmentation,
      });
      const graph = copyWeightsToGraph(composed.model, structuredClone(current.graph));
      head?.head.remember();
      return { model: applyMasks({ ...current, graph }), steps: result.globalStep };
    } finally {
      composed.dispose();
    }
  }

  /** Step 2 for one conv: greedy selection and refinement, channels removed for real, the optional re-fit. */
  private pruneLayer(original: Graph, current: CompressedModel, layer: PrunableLayer, keep: number, stage: Stage, stageIndex: number, data: LearnerData, nextBatch: () => Batch, options: Resolved) {
    const maskValues = current.masks[layer.id]?.kernel;
    const weightMask = maskValues === undefined ? undefined : tf.tensor(Float32Array.from(maskValues.kept), maskValues.shape);
    const selection = (() => {
      try {
        return selectDiscriminativeChannels({
          original, current: current.graph, layerId: layer.id, keep, head: stage.head, selection: options.selection ?? "gradient",
          rounds: options.selectionRounds, layerSteps: options.layerSteps, learningRate: options.learningRate, batchNormMomentum: options.batchNormMomentum ?? 0.9,
          weightMask, seed: options.seed, nextBatch, imageShape: data.train.imageShape,
        });
      } finally {
        weightMask?.dispose();
      }
    })();
    const refined = { ...current, graph: selection.graph };
    const samples = options.reconstruct !== true ? undefined : convSamples(original, refined.graph, layer.id, data.train, {
      samples: options.samples ?? 400, positionsPerImage: options.positionsPerImage ?? 10, seed: options.seed, normalization: data.normalization,
    });
    const { model: shrunk, kernel } = thinLayerInputs(NAME, refined, layer.id, selection.kept);
    if (samples !== undefined) kernel.values = reconstructKernel(samples, selection.kept);
    const relativeError = samples === undefined ? undefined : relativeReconstructionError(samples, selection.kept, kernel.values);
    const report: LayerReport = { layer: layer.id, stage: stageIndex + 1, channels: layer.channels, kept: keep, keptChannels: selection.kept, ...(relativeError === undefined ? {} : { relativeError }) };
    return { model: applyMasks(shrunk), steps: selection.steps, report };
  }

  private recordedOptions(options: Resolved, stages: number): Record<string, unknown> {
    const { preserveRatio, ratios, channelMultiple, stageSteps, layerSteps, selectionRounds, learningRate, selection, reconstruct, samples, positionsPerImage, finetune, distill, batchSize, seed } = options;
    return { preserveRatio, ratios, channelMultiple, stages, stageSteps, layerSteps, selectionRounds, learningRate, selection, reconstruct, samples, positionsPerImage, finetune, distill, batchSize, seed };
  }
}
