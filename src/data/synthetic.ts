// A synthetic, learnable image dataset for tests and demos: each class is a fixed random
// template, and a sample is its template plus seeded noise. A small CNN separates them quickly.
import { seededRandom } from "../util/random.js";
import type { Dataset, TrainTestData } from "./dataset.js";

export interface SyntheticOptions {
  imageShape?: [number, number, number];
  numClasses?: number;
  trainCount?: number;
  testCount?: number;
  /** Noise amplitude in pixel units (0..255). */
  noise?: number;
  seed?: number;
}

export function syntheticDataset(options: SyntheticOptions = {}): TrainTestData {
  const { imageShape = [16, 16, 1], numClasses = 4, trainCount = 512, testCount = 128, noise = 60, seed = 1 } = options;
  const size = imageShape[0] * imageShape[1] * imageShape[2];
  const random = seededRandom(seed);
  const templates = Array.from({ length: numClasses }, () => Uint8Array.from({ length: size }, () => Math.floor(random() * 256)));
  const make = (count: number, name: string): Dataset => {
    const images = new Uint8Array(count * size);
    const labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const label = Math.floor(random() * numClasses);
      labels[i] = label;
      for (let p = 0; p < size; p++) {
        const v = templates[label][p] + (random() * 2 - 1) * noise;
        images[i * size + p] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
    return { name, images, labels, imageShape, numClasses };
  };
  return { train: make(trainCount, "synthetic train"), test: make(testCount, "synthetic test") };
}
