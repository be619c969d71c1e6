// What learners add to a training run, composed: each learner (and the model's own masks)
// contributes a TrainingPart keyed by IR node ids and weight names; composeTraining turns the
// parts into one built tfjs model (their overrides applied in order), one gradient rewrite, one
// after-update hook, the extra trainable variables and the extra loss terms. So a quantizer that
// fine-tunes a pruned model trains through its fake quantizer while the pruner's masks keep the
// pruned weights at zero, neither knowing of the other.
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { listMasks, type CompressedModel } from "../graph/compressed-model.js";
import type { Graph } from "../graph/ir.js";
import { buildTfjsModel, type BuildTfjsOptions, type NodeOverride } from "../tfjs/tfjs-from-graph.js";
import { irWeightOfParameter, parameterName } from "../tfjs/weight-names.js";
import type { Forward } from "./evaluate.js";
import type { Parameter } from "./optimizers.js";
import type { LossTerm, TrainHooks, TrainOptions } from "./trainer.js";

/** Gives the tfjs variable of a node's IR weight. */
export type WeightVariable = (nodeId: string, weight: string) => tf.Variable;

export interface TrainingPart {
  /** Who contributes it; errors name it. */
  name: string;
  /** Changes to nodes when the model is built (weight transforms, output wrappers, auxiliary heads). */
  overrides?: Record<string, NodeOverride>;
  /** Rewrites of a weight's gradient before the update, by node id then IR weight name. */
  gradients?: Record<string, Record<string, (gradient: tf.Tensor) => tf.Tensor>>;
  /** After every update (re-imposes a constraint on the weights). */
  afterUpdate?(weight: WeightVariable, step: number): void;
  /** Trainable variables of the learner's own (codebook centroids). */
  parameters?: Parameter[];
  /** An extra loss; `heads` are the outputs of this part's auxiliary heads in this step. */
  loss?(logits: tf.Tensor2D, labels: tf.Tensor1D, heads: tf.Tensor[]): tf.Scalar;
  /** Frees what the part holds (mask tensors). */
  dispose?(): void;
}

export interface ComposedTraining {
  /** The model to train, built with every part's overrides; outputs logits first. */
  model: tfl.LayersModel;
  /** What to pass to train(): forward, hooks, extra parameters and loss terms. */
  trainOptions: Required<Pick<TrainOptions, "forward" | "extraParameters" | "lossTerms">> & { hooks: TrainHooks };
  dispose(): void;
}

/** The masks of the model as a part: pruned weights get no gradient, so they stay exactly zero under SGD and Adam. */
export function maskTrainingPart(model: CompressedModel): TrainingPart | undefined {
  const masks = listMasks(model);
  if (masks.length === 0) return undefined;
  const tensors: tf.Tensor[] = [];
  const gradients: NonNullable<TrainingPart["gradients"]> = {};
  for (const [id, name, mask] of masks) {
    const kept = tf.tensor(Float32Array.from(mask.kept), mask.shape, "float32");
    tensors.push(kept);
    gradients[id] = { ...gradients[id], [name]: (gradient) => tf.mul(gradient, kept) };
  }
  return { name: "masks", gradients, dispose: () => tf.dispose(tensors) };
}

/** Each part's overrides by node, with heads recorded per part as the model is built. */
function collectOverrides(parts: readonly TrainingPart[], headOwners: number[]): Record<string, NodeOverride[]> {
  const byNode: Record<string, NodeOverride[]> = {};
  parts.forEach((part, index) => {
    for (const [id, override] of Object.entries(part.overrides ?? {})) {
      const heads = override.heads;
      const recorded: NodeOverride = heads === undefined ? override : {
        ...override,
        heads: (output) => {
          const made = heads(output);
          for (let i = 0; i < made.length; i++) headOwners.push(index);
          return made;
        },
      };
      (byNode[id] ??= []).push(recorded);
    }
  });
  return byNode;
}

/** One gradient rewrite over every part, in part order; gradients of other weights pass as they are. */
function composeGradients(parts: readonly TrainingPart[]): TrainHooks["transformGradients"] {
  const rewrites = parts.filter((part) => part.gradients !== undefined);
  if (rewrites.length === 0) return undefined;
  return (gradients) => {
    const result: tf.NamedTensorMap = { ...gradients };
    for (const [name, gradient] of Object.entries(gradients)) {
      const { nodeId, weight } = irWeightOfParameter(name);
      let current = gradient;
      for (const part of rewrites) {
        const rewrite = part.gradients?.[nodeId]?.[weight];
        if (rewrite === undefined) continue;
        const next = tf.tidy(() => rewrite(current));
        if (current !== gradient) current.dispose(); // an earlier part's rewrite, ours to free
        current = next;
      }
      result[name] = current;
    }
    return result;
  };
}

/** Variables of the model by parameter name, with an error naming what exists. */
function weightVariables(model: tfl.LayersModel): WeightVariable {
  const byName = new Map(model.weights.map((weight) => [weight.originalName, weight.read() as tf.Variable]));
  return (nodeId, weight) => {
    const name = parameterName(nodeId, weight);
    const variable = byName.get(name);
    if (variable === undefined) throw new Error(`the model has no variable '${name}' (node '${nodeId}', weight '${weight}')`);
    return variable;
  };
}

/**
 * Builds the graph into a trainable model (logits out) with every part's changes, and the
 * train() options that apply them. Parts apply in the order given, overrides and gradient
 * rewrites alike.
 */
export function composeTraining(graph: Graph, parts: ReadonlyArray<TrainingPart | undefined>, buildOptions: Omit<BuildTfjsOptions, "overrides" | "withoutSoftmax"> = {}): ComposedTraining {
  const present = parts.filter((part): part is TrainingPart => part !== undefined);
  const headOwners: number[] = [];
  const model = buildTfjsModel(graph, { ...buildOptions, withoutSoftmax: true, overrides: collectOverrides(present, headOwners) });
  const firstHead = model.outputs.length - headOwners.length;
  let heads: tf.Tensor[] = [];
  const forward: Forward = (images, training) => {
    const outputs = model.apply(images, { training }) as tf.Tensor | tf.Tensor[];
    if (!Array.isArray(outputs)) return outputs as tf.Tensor2D;
    heads = outputs.slice(firstHead);
    return outputs[0] as tf.Tensor2D;
  };
  const lossTerms: LossTerm[] = present.flatMap((part, index) => (part.loss === undefined ? [] : [
    (logits: tf.Tensor2D, labels: tf.Tensor1D) => (part.loss as NonNullable<TrainingPart["loss"]>)(logits, labels, heads.filter((_, i) => headOwners[i] === index)),
  ]));
  const weight = weightVariables(model);
  const updates = present.filter((part) => part.afterUpdate !== undefined);
  const hooks: TrainHooks = {
    transformGradients: composeGradients(present),
    afterUpdate: updates.length === 0 ? undefined : (step) => { for (const part of updates) part.afterUpdate?.(weight, step); },
  };
  return {
    model,
    trainOptions: { forward, extraParameters: present.flatMap((part) => part.parameters ?? []), lossTerms, hooks },
    dispose: () => {
      model.dispose();
      for (const part of present) part.dispose?.();
    },
  };
}

/** Applies two gradient rewrites in turn, freeing what the first made and the second replaced. */
function chainTransforms(first: NonNullable<TrainHooks["transformGradients"]>, second: NonNullable<TrainHooks["transformGradients"]>): NonNullable<TrainHooks["transformGradients"]> {
  return (gradients, step) => {
    const middle = first(gradients, step);
    const result = second(middle, step);
    const kept = new Set([...Object.values(gradients), ...Object.values(result)]);
    for (const tensor of Object.values(middle)) if (!kept.has(tensor)) tensor.dispose();
    return result;
  };
}

/** The caller's hooks and the composed ones, both called (the caller's first). */
export function mergeHooks(own: TrainHooks | undefined, composed: TrainHooks): TrainHooks {
  const [ownTransform, transform] = [own?.transformGradients, composed.transformGradients];
  const [ownAfter, after] = [own?.afterUpdate, composed.afterUpdate];
  return {
    ...own,
    transformGradients: ownTransform === undefined ? transform : transform === undefined ? ownTransform : chainTransforms(ownTransform, transform),
    afterUpdate: ownAfter === undefined ? after : after === undefined ? ownAfter : (step) => { ownAfter(step); after(step); },
  };
}
