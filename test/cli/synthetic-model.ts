// A model directory the compress CLI tests start from: an untrained LeNet for the synthetic set,
// its history naming the zoo net (so the fine-tune recipe is LeNet's), in a fresh temp folder.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { uncompressed } from "../../src/graph/compressed-model.js";
import { saveCompressedModel } from "../../src/io/compressed-model-dir.js";
import { createNet } from "../../src/nets/zoo.js";

/** The temp folder (for the tests' outputs too) and the model directory in it. */
export async function syntheticLenetDirectory(prefix: string): Promise<{ root: string; model: string }> {
  await tf.setBackend(registerPocketflowBackend());
  const root = await mkdtemp(join(tmpdir(), prefix));
  const model = join(root, "lenet");
  const graph = createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 3 });
  await saveCompressedModel(model, uncompressed(graph, [{ step: "train", at: "2026-01-01T00:00:00Z", net: "lenet" }]), { preprocessing: { dataset: "synthetic" } });
  return { root, model };
}
