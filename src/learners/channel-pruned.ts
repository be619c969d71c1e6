// ChannelPrunedLearner (He et al. 2017; PocketFlow's ChannelPrunedLearner), learner `channel`.
// For every prunable conv in graph order:
//   1. collect  input patches X from the model pruned so far and the original model's outputs Y
//               at sampled positions (channel-samples.ts);
//   2. select   the input channels to keep: LASSO with its penalty searched until exactly k
//               remain (or the sum |W| and random baselines);
//   3. remove   those channels for real: from the conv's input, the producing conv's output, its
//               batch norm and activation (shrink.ts), so the model is smaller and faster;
//   4. reconstruct the conv's kernel on the kept channels by least squares, so it reproduces Y.
// Then fine-tune the whole model, fast or full, by default distilling from the original.
import { applyMasks, withHistory, type CompressedModel } from "../graph/compressed-model.js";
import type { Conv2DNode, Graph } from "../graph/ir.js";
import { keptChannelsOf, prunableLayers, thinLayerInputs, uniformRatiosBaseline, type PrunableLayer } from "./channel-budget.js";
import { convSamples } from "./channel-samples.js";
import { reconstructKernel, relativeReconstructionError, selectChannels, type ChannelSelectionMethod } from "./channel-selection.js";
import type { FullPrecOptions } from "./full-prec.js";
import { BUDGET_OPTIONS, FINETUNE_OPTIONS, SAMPLING_OPTIONS, fineTunePruned, type ChannelPruningOptions } from "./pruning-options.js";
import { LearnerRefusedError, lastRecord, resolveOptions, type HyperParameter, type Learner, type LearnerData, type LearnerOptionSpec, type SearchBaseline } from "./learner.js";

export interface ChannelPrunedOptions extends Omit<FullPrecOptions, "distillation" | "teacherGraph" | "onEpochSnapshot">, ChannelPruningOptions {
  /** How channels are chosen (default 'lasso'). */
  selection?: ChannelSelectionMethod;
  /** Least-squares reconstruction of the kept channels' weights (default true). */
  reconstruct?: boolean;
}

const OPTIONS: readonly LearnerOptionSpec[] = [
  ...BUDGET_OPTIONS,
  { name: "selection", kind: "choice", choices: ["lasso", "sum-abs", "random"], default: "lasso", help: "how input channels are chosen" },
  { name: "reconstruct", kind: "flag", default: true, help: "least-squares reconstruction of the kept weights" },
  ...SAMPLING_OPTIONS,
  ...FINETUNE_OPTIONS,
  { name: "batchSize", kind: "integer", min: 1, help: "images per step" },
  { name: "seed", kind: "integer", min: 0, default: 0, help: "seed of the samples, positions and shuffles" },
];

/** Per layer: input channels before and kept, and the reconstruction error of the kept channels. */
interface LayerReport {
  layer: string;
  channels: number;
  kept: number;
  relativeError: number;
  note?: string;
}

export class ChannelPrunedLearner implements Learner<ChannelPrunedOptions> {
  readonly name = "channel";
  readonly description = "channel pruning (He et al. 2017): LASSO selection, least-squares reconstruction, channels removed for real";
  readonly options = OPTIONS;

  searchSpace(model: CompressedModel): HyperParameter[] {
    return [{ option: "ratios", kind: "continuous", low: 0.1, high: 1, perLayer: prunableLayers(model.graph).map((layer) => layer.id) }];
  }

  /** The uniform ratio, as preserveRatio alone prunes. */
  searchBaselines(model: CompressedModel, options: ChannelPrunedOptions): SearchBaseline[] {
    return [uniformRatiosBaseline(model.graph, options.preserveRatio ?? 0.5, options.channelMultiple ?? 8)];
  }

  async compress(model: CompressedModel, data: LearnerData, given: ChannelPrunedOptions): Promise<CompressedModel> {
    const options = resolveOptions(this, given);
    const started = performance.now();
    const layers = prunableLayers(model.graph);
    const kept = this.keptChannels(model, layers, options);
    let current = model;
    const reports: LayerReport[] = [];
    for (const layer of layers) {
      const keep = kept.get(layer.id) ?? layer.channels;
      if (keep === layer.channels) continue;
      const pruned = this.pruneLayer(model.graph, current, layer.id, keep, data, options);
      current = pruned.model;
      reports.push(pruned.report);
      const { channels, relativeError } = pruned.report;
      options.progress?.(`${layer.id}: kept ${keep} of ${channels} input channels, reconstruction error ${(100 * relativeError).toFixed(2)}% (${reports.length} layers, ${Math.round((performance.now() - started) / 1000)} s)`);
    }
    const tuned = await fineTunePruned(model.graph, current, data, options, OPTIONS);
    const record = lastRecord(tuned);
    const { preserveRatio, ratios, selection, reconstruct, samples, positionsPerImage, finetune, distill, seed } = options;
    return withHistory({ ...tuned, history: current.history }, "prune", {
      learner: this.name, mode: finetune === "full" ? "full" : "fast", steps: record?.steps ?? 0, validationAccuracy: record?.validationAccuracy,
      seconds: (performance.now() - started) / 1000,
      options: { preserveRatio, ratios, selection, reconstruct, channelMultiple: options.channelMultiple, samples, positionsPerImage, finetune, distill, seed },
      layers: reports,
    });
  }

  /** Checks the input and the ratios before any work; the kept channel count per layer. */
  private keptChannels(model: CompressedModel, layers: readonly PrunableLayer[], options: ChannelPrunedOptions): Map<string, number> {
    const quantized = Object.keys(model.quantization);
    if (quantized.length > 0) throw new LearnerRefusedError(this.name, `it is quantized ('${quantized[0]}', ...); prune before quantizing`);
    if (layers.length === 0) throw new LearnerRefusedError(this.name, `graph '${model.graph.name}' has no conv whose input channels can be pruned (a group produced by convs and read by that conv alone)`);
    return keptChannelsOf(this.name, model.graph, layers, options.preserveRatio ?? 0.5, options.ratios, options.channelMultiple ?? 8);
  }

  /** Steps 1-4 for one conv. */
  private pruneLayer(original: Graph, current: CompressedModel, id: string, keep: number, data: LearnerData, options: ChannelPrunedOptions): { model: CompressedModel; report: LayerReport } {
    const samples = convSamples(original, current.graph, id, data.train, {
      samples: options.samples ?? 400, positionsPerImage: options.positionsPerImage ?? 10, seed: options.seed ?? 0, normalization: data.normalization,
    });
    const conv = current.graph.nodes.find((node) => node.id === id) as Conv2DNode;
    const kernel = conv.weights.kernel.values;
    const choice = selectChannels(options.selection ?? "lasso", samples, kernel, keep, options.seed ?? 0);
    const weights = options.reconstruct === false ? undefined : reconstructKernel(samples, choice.kept);
    const { model: shrunk, kernel: newKernel } = thinLayerInputs("channel pruning", current, id, choice.kept);
    if (weights !== undefined) newKernel.values = weights;
    const relativeError = relativeReconstructionError(samples, choice.kept, newKernel.values);
    return { model: applyMasks(shrunk), report: { layer: id, channels: samples.inChannels, kept: keep, relativeError, ...(choice.note ? { note: choice.note } : {}) } };
  }
}
