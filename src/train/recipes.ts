// Default training recipes per net of the zoo, what `pocketflow train` uses unless told otherwise.
// ResNet follows PocketFlow's resnet_at_cifar10 (momentum SGD 0.9, lr 0.1, batch 128, weight decay
// 2e-4) with cosine decay instead of the fixed 100/150/200-epoch steps, so that a short run still
// ends at a low rate; MobileNet uses the papers' small weight decay (4e-5); LeNet and the ConvNet
// are small, batch-norm-free or shallow nets that converge in a few epochs at batch 64.
import type { NetName } from "../nets/zoo.js";
import type { TrainingOptimizerConfig } from "./optimizers.js";
import type { ScheduleOptions } from "./schedule.js";

export interface TrainingRecipe {
  epochs: number;
  batchSize: number;
  optimizer: TrainingOptimizerConfig;
  schedule: ScheduleOptions;
  weightDecay: number;
}

const sgd: TrainingOptimizerConfig = { kind: "sgd", momentum: 0.9 };

export function defaultRecipe(net: NetName): TrainingRecipe {
  switch (net) {
    case "lenet":
    case "convnet":
      return { epochs: 10, batchSize: 64, optimizer: sgd, schedule: { schedule: { kind: "cosine", learningRate: 0.05 } }, weightDecay: 5e-4 };
    case "resnet20":
    case "resnet32":
    case "resnet56":
      return { epochs: 30, batchSize: 128, optimizer: sgd, schedule: { schedule: { kind: "cosine", learningRate: 0.1 }, warmupEpochs: 1 }, weightDecay: 2e-4 };
    case "mobilenet-v1":
    case "mobilenet-v2":
      return { epochs: 30, batchSize: 128, optimizer: sgd, schedule: { schedule: { kind: "cosine", learningRate: 0.1 }, warmupEpochs: 1 }, weightDecay: 4e-5 };
  }
}

/**
 * Defaults for fine-tuning a trained model: the recipe of its zoo net (or LeNet/ConvNet's when it
 * is not one of the zoo) at a tenth of the rate and of the epochs, without warm-up, so that the
 * run refines the weights it starts from rather than re-learning them.
 */
export function fineTuneRecipe(net: NetName | undefined): TrainingRecipe {
  const base = defaultRecipe(net ?? "convnet");
  return {
    ...base,
    epochs: Math.max(1, Math.round(base.epochs / 10)),
    schedule: { schedule: { ...base.schedule.schedule, learningRate: base.schedule.schedule.learningRate / 10 }, warmupEpochs: 0 },
  };
}
