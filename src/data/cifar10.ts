// CIFAR-10 from its binary batches: each record is 1 label byte then 3072 pixel bytes, channel
// planes R, G, B of 32×32 (CHW). We store NHWC like every other dataset here.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Dataset, TrainTestData } from "./dataset.js";

const SIDE = 32;
const PIXELS = SIDE * SIDE;
const RECORD = 1 + 3 * PIXELS;
export const CIFAR10_TRAIN_FILES = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];
export const CIFAR10_TEST_FILE = "test_batch.bin";

function readBatches(paths: string[], name: string): Dataset {
  const buffers = paths.map((path) => {
    const bytes = readFileSync(path);
    if (bytes.length === 0 || bytes.length % RECORD !== 0) {
      throw new Error(`${path}: ${bytes.length} bytes is not a whole number of CIFAR-10 records (${RECORD} bytes each); the file is truncated or not a CIFAR-10 binary batch`);
    }
    return { path, bytes };
  });
  const count = buffers.reduce((n, b) => n + b.bytes.length / RECORD, 0);
  const images = new Uint8Array(count * 3 * PIXELS);
  const labels = new Uint8Array(count);
  let sample = 0;
  for (const { path, bytes } of buffers) {
    for (let r = 0; r < bytes.length; r += RECORD, sample++) {
      const label = bytes[r];
      if (label > 9) throw new Error(`${path}: record ${r / RECORD} has label ${label}, not a CIFAR-10 class (0..9)`);
      labels[sample] = label;
      const out = sample * 3 * PIXELS;
      for (let p = 0; p < PIXELS; p++) {
        images[out + 3 * p] = bytes[r + 1 + p];
        images[out + 3 * p + 1] = bytes[r + 1 + PIXELS + p];
        images[out + 3 * p + 2] = bytes[r + 1 + 2 * PIXELS + p];
      }
    }
  }
  return { name, images, labels, imageShape: [SIDE, SIDE, 3], numClasses: 10 };
}

/** Loads CIFAR-10 from a directory holding data_batch_1..5.bin and test_batch.bin. */
export function loadCifar10(directory: string): TrainTestData {
  const missing = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].filter((f) => !existsSync(join(directory, f)));
  if (missing.length > 0) {
    throw new Error(`cifar-10: ${missing.join(", ")} not found in ${directory}; extract the "CIFAR-10 binary version" archive there`);
  }
  return {
    train: readBatches(CIFAR10_TRAIN_FILES.map((f) => join(directory, f)), "cifar-10 train"),
    test: readBatches([join(directory, CIFAR10_TEST_FILE)], "cifar-10 test"),
  };
}
