// Batches for training and evaluation: uint8 pixels -> normalized float32 NHWC, one-hot or
// index labels, a seeded shuffle per epoch, and CIFAR-style augmentation (random crop after
// zero padding, horizontal flip).
import { seededRandom } from "../util/random.js";
import { imageSize, sampleCount, shuffledIndices, type Dataset } from "./dataset.js";

export interface Normalization {
  /** Per channel, in pixel units (0..255). */
  mean: number[];
  std: number[];
}

export interface Augmentation {
  /** Pad by this many pixels, then crop back at a random offset (CIFAR: 4). */
  cropPadding?: number;
  /** Flip left-right with probability 1/2. */
  horizontalFlip?: boolean;
}

export interface Batch {
  /** [batch, height, width, channels] normalized pixels. */
  images: Float32Array;
  labels: Uint8Array;
  size: number;
}

export interface BatchOptions {
  batchSize: number;
  shuffle?: boolean;
  seed?: number;
  normalization?: Normalization;
  augmentation?: Augmentation;
  /** Keep the last, smaller batch (default true; training usually drops it). */
  keepPartial?: boolean;
  /** Start at this batch of the epoch, with the same random draws as if the earlier ones were made (resume). */
  startBatch?: number;
}

/** Per-channel mean and standard deviation over the whole dataset. */
export function computeNormalization(d: Dataset): Normalization {
  const channels = d.imageShape[2];
  const sum = new Float64Array(channels);
  const sumSq = new Float64Array(channels);
  for (let i = 0; i < d.images.length; i++) {
    const v = d.images[i];
    sum[i % channels] += v;
    sumSq[i % channels] += v * v;
  }
  const count = d.images.length / channels;
  const mean = Array.from(sum, (s) => s / count);
  const std = Array.from(sumSq, (s, c) => Math.sqrt(Math.max(s / count - mean[c] * mean[c], 1e-12)));
  return { mean, std };
}

/** Batches of one epoch (seeded: epoch e of seed s always gives the same batches). */
export function* batches(d: Dataset, options: BatchOptions): Generator<Batch> {
  const { batchSize, shuffle = false, seed = 0, normalization, augmentation, keepPartial = true, startBatch = 0 } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batches: batchSize must be an integer >= 1, but got ${batchSize}`);
  if (!Number.isInteger(startBatch) || startBatch < 0) throw new RangeError(`batches: startBatch must be an integer >= 0, but got ${startBatch}`);
  const n = sampleCount(d);
  const order = shuffle ? shuffledIndices(n, seed) : Uint32Array.from({ length: n }, (_, i) => i);
  const random = seededRandom(seed ^ 0x9e3779b9);
  const [h, w, c] = d.imageShape;
  const size = imageSize(d);
  const mean = normalization?.mean ?? new Array(c).fill(0);
  const scale = (normalization?.std ?? new Array(c).fill(255)).map((s) => 1 / s);
  const pad = augmentation?.cropPadding ?? 0;
  const drawsPerSample = (pad > 0 ? 2 : 0) + (augmentation?.horizontalFlip === true ? 1 : 0);
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    if (count < batchSize && !keepPartial) break;
    if (start < startBatch * batchSize) {
      for (let draw = 0; draw < count * drawsPerSample; draw++) random();
      continue;
    }
    const images = new Float32Array(count * size);
    const labels = new Uint8Array(count);
    for (let b = 0; b < count; b++) {
      const sample = order[start + b];
      labels[b] = d.labels[sample];
      const dy = pad > 0 ? Math.floor(random() * (2 * pad + 1)) - pad : 0;
      const dx = pad > 0 ? Math.floor(random() * (2 * pad + 1)) - pad : 0;
      const flip = augmentation?.horizontalFlip === true && random() < 0.5;
      const src = sample * size;
      const dst = b * size;
      for (let y = 0; y < h; y++) {
        const sy = y + dy;
        for (let x = 0; x < w; x++) {
          const sx = (flip ? w - 1 - x : x) + dx;
          const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
          for (let ch = 0; ch < c; ch++) {
            // padding is zero pixels (black), normalized like any other pixel
            const v = inside ? d.images[src + (sy * w + sx) * c + ch] : 0;
            images[dst + (y * w + x) * c + ch] = (v - mean[ch]) * scale[ch];
          }
        }
      }
    }
    yield { images, labels, size: count };
  }
}
