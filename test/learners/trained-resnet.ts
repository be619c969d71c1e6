// The fixture the channel-pruning learners' tests share: ResNet-20 at 16×16×1 trained for 2
// epochs on the synthetic set (it reaches > 90%, so pruning has accuracy to lose).
import * as tf from "@tensorflow/tfjs-core";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { computeNormalization } from "../../src/data/batches.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { uncompressed, type CompressedModel } from "../../src/graph/compressed-model.js";
import { FullPrecLearner } from "../../src/learners/full-prec.js";
import { createNet } from "../../src/nets/zoo.js";

export const data = syntheticDataset({ imageShape: [16, 16, 1], numClasses: 4, trainCount: 512, testCount: 256, seed: 4 });
export const normalization = computeNormalization(data.train);
export const learnerData = { train: data.train, validation: data.test, normalization };

/** Activates our backend and trains the fixture (about 10 s: call it from beforeAll with a long timeout). */
export async function trainedResNet(): Promise<CompressedModel> {
  await tf.setBackend(registerPocketflowBackend());
  const graph = createNet("resnet20", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
  return new FullPrecLearner().compress(uncompressed(graph), learnerData, { epochs: 2, batchSize: 32, seed: 1, schedule: { schedule: { kind: "cosine", learningRate: 0.05 } } });
}
