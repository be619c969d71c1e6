// An in-memory image classification dataset: uint8 pixels NHWC and uint8 labels, as the IDX
// and CIFAR files store them (4x smaller than float32; batches convert on the fly).
import { seededRandom } from "../util/random.js";

export interface Dataset {
  /** Name for messages, e.g. "mnist train". */
  readonly name: string;
  /** Pixels, NHWC, 0..255. */
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  /** [height, width, channels] of one image. */
  readonly imageShape: readonly [number, number, number];
  readonly numClasses: number;
}

export interface TrainTestData {
  train: Dataset;
  test: Dataset;
}

export const imageSize = (d: Dataset): number => d.imageShape[0] * d.imageShape[1] * d.imageShape[2];
export const sampleCount = (d: Dataset): number => d.labels.length;

/** Samples [start, end) as a dataset of their own (views, no copy). */
export function sliceDataset(d: Dataset, start: number, end: number, name = d.name): Dataset {
  const size = imageSize(d);
  return { ...d, name, images: d.images.subarray(start * size, end * size), labels: d.labels.subarray(start, end) };
}

/**
 * Splits off the last `validationCount` training samples for validation (PocketFlow keeps 5000),
 * after a seeded shuffle so that the validation set is not one ordered slice of the file.
 */
export function splitValidation(train: Dataset, validationCount: number, seed = 0): { train: Dataset; validation: Dataset } {
  const n = sampleCount(train);
  if (!Number.isInteger(validationCount) || validationCount < 0 || validationCount >= n) {
    throw new RangeError(`splitValidation: validationCount must be an integer in 0..${n - 1} for ${train.name} (${n} samples), but got ${validationCount}`);
  }
  const shuffled = gatherSamples(train, shuffledIndices(n, seed), train.name);
  return {
    train: sliceDataset(shuffled, 0, n - validationCount, `${train.name} (train split)`),
    validation: sliceDataset(shuffled, n - validationCount, n, `${train.name} (validation split)`),
  };
}

/** A new dataset with the samples at `indices`, in that order. */
export function gatherSamples(d: Dataset, indices: ArrayLike<number>, name: string): Dataset {
  const size = imageSize(d);
  const images = new Uint8Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    images.set(d.images.subarray(j * size, (j + 1) * size), i * size);
    labels[i] = d.labels[j];
  }
  return { ...d, name, images, labels };
}

/** Fisher-Yates permutation of 0..n-1. */
export function shuffledIndices(n: number, seed: number): Uint32Array {
  const random = seededRandom(seed);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
