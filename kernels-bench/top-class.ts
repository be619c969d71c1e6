// The class a model IR graph ranks first for every image of a dataset: the labels of a
// distillation set when the only ground truth is the original model itself.
import * as tf from "@tensorflow/tfjs-core";
import { batches } from "../src/data/batches.js";
import { sampleCount, type Dataset } from "../src/data/dataset.js";
import type { Graph } from "../src/graph/ir.js";
import { buildTfjsModel } from "../src/tfjs/tfjs-from-graph.js";

/** Top-1 class per image (pixels / 255, as nsfwjs feeds its models), in batches of `batchSize`. */
export function labelWithTopClass(graph: Graph, dataset: Dataset, batchSize = 32): Uint8Array {
  const model = buildTfjsModel(graph, { withoutSoftmax: true });
  const labels = new Uint8Array(sampleCount(dataset));
  let offset = 0;
  try {
    for (const batch of batches(dataset, { batchSize })) {
      const top = tf.tidy(() => (model.predict(tf.tensor4d(batch.images, [batch.size, ...dataset.imageShape])) as tf.Tensor2D).argMax(-1));
      labels.set(top.dataSync() as Int32Array, offset);
      top.dispose();
      offset += batch.size;
    }
  } finally {
    model.dispose();
  }
  return labels;
}

/** Index of the largest value of each row of row-major [rows, classes] logits (the first on a tie). */
export function topClassOfRows(logits: ArrayLike<number>, classes: number): number[] {
  const rows: number[] = [];
  for (let r = 0; r * classes < logits.length; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c] > logits[r * classes + best]) best = c;
    rows.push(best);
  }
  return rows;
}
