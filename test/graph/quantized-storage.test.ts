// Packed storage of quantized weights: bit packing at every width, uniform (asymmetric and
// symmetric, per tensor/channel/bucket) and codebook weights round-tripping bit for bit, dense and
// sparse, sizes as the formula says (4-bit: n/2 bytes plus the parameters), values off the grid
// refused, and measureModel's packedBytes.
import { describe, expect, it } from "vitest";
import { uncompressed, withMasks, withQuantization, type CodebookWeightQuantization, type WeightMask } from "../../src/graph/compressed-model.js";
import {
  decodeQuantized, encodeQuantized, packBits, packedSaving, packedStoredBytes, packedWeightBytes, quantizationParamBytes, unpackBits,
} from "../../src/graph/quantized-storage.js";
import { groupOf, perBucket, perTensor, type Grouping } from "../../src/kernels/grouping.js";
import { measureModel } from "../../src/learners/compress.js";
import { quantizeUniform } from "../../src/learners/uniform-quant.js";
import { createNet } from "../../src/nets/zoo.js";
import { seededRandom } from "../../src/util/random.js";

const randomWeights = (n: number, seed: number): Float32Array => {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (random() - 0.4) * 0.3);
};

const everyThird = (n: number): WeightMask => ({ shape: [n], kept: Uint8Array.from({ length: n }, (_, i) => (i % 3 === 1 ? 0 : 1)) });

describe("bit packing", () => {
  for (const bits of [1, 2, 3, 4, 5, 7, 8]) {
    it(`${bits}-bit codes, 37 of them: ceil(37·${bits}/8) bytes, unpacked as they were`, () => {
      const random = seededRandom(bits);
      const codes = Uint8Array.from({ length: 37 }, () => Math.floor(random() * 2 ** bits));
      const packed = packBits(codes, bits);
      expect(packed.length).toBe(Math.ceil((37 * bits) / 8));
      expect(unpackBits(packed, bits, 37)).toEqual(codes);
    });
  }
});

describe("uniform weights", () => {
  const n = 3 * 3 * 8 * 12;
  const cases: Array<[string, number, boolean, Grouping]> = [
    ["4-bit asymmetric per tensor", 4, false, perTensor()],
    ["4-bit symmetric per channel", 4, true, { inner: 1, groups: 12 }],
    ["2-bit asymmetric per bucket of 256", 2, false, perBucket(n, 256)],
    ["3-bit asymmetric per channel", 3, false, { inner: 1, groups: 12 }],
    ["8-bit symmetric per tensor", 8, true, perTensor()],
  ];
  for (const [name, bits, symmetric, grouping] of cases) {
    it(`${name}: decode(encode(w)) is w bit for bit, in ceil(n·${bits}/8) + params bytes; sparse too`, () => {
      const { values, quantization } = quantizeUniform(randomWeights(n, bits), { bits, grouping }, symmetric);
      const packed = encodeQuantized(values, [3, 3, 8, 12], quantization);
      expect(decodeQuantized(packed).values).toEqual(values);
      const params = grouping.groups * (symmetric ? 4 : 5);
      expect(quantizationParamBytes(quantization)).toBe(params);
      expect(packedWeightBytes(packed)).toBe(Math.ceil((n * bits) / 8) + params);
      expect(packedWeightBytes(packed)).toBe(packedStoredBytes(n, bits, params));

      const mask = everyThird(n);
      const pruned = Float32Array.from(values, (v, i) => (mask.kept[i] === 0 ? 0 : v));
      const sparse = encodeQuantized(pruned, [n], quantization, mask);
      const decoded = decodeQuantized(sparse);
      expect(decoded.values).toEqual(pruned);
      expect(decoded.mask?.kept).toEqual(mask.kept);
      expect(packedWeightBytes(sparse)).toBe(Math.ceil(n / 8) + Math.ceil((mask.kept.filter((b) => b === 1).length * bits) / 8) + params);
    });
  }

  it("4-bit: n/2 bytes plus one scale and zero point per group", () => {
    const { values, quantization } = quantizeUniform(randomWeights(1000, 9), { bits: 4, grouping: perTensor() }, false);
    expect(packedWeightBytes(encodeQuantized(values, [1000], quantization))).toBe(500 + 5);
  });

  it("refuses a value off the grid and a pruned weight that is not 0", () => {
    const { values, quantization } = quantizeUniform(randomWeights(64, 2), { bits: 4, grouping: perTensor() }, false);
    const off = Float32Array.from(values);
    off[5] += quantization.scales[0] / 3;
    expect(() => encodeQuantized(off, [64], quantization)).toThrow(/weight 5 .* is not on its 4-bit uniform grid/);
    const mask = everyThird(64);
    const onGrid = values.find((v) => v !== 0) as number;
    expect(() => encodeQuantized(values.map((v, i) => (mask.kept[i] === 0 ? onGrid : v)), [64], quantization, mask)).toThrow(/pruned by the mask but holds/);
  });
});

describe("codebook weights", () => {
  it("2- and 4-bit codebooks per bucket: indices packed, codebook kept, round trip bit for bit; a value in no codebook refused", () => {
    for (const bits of [2, 4]) {
      const n = 300;
      const grouping = perBucket(n, 128);
      const k = 2 ** bits;
      const centroids = randomWeights(grouping.groups * k, bits);
      const random = seededRandom(3);
      const values = Float32Array.from({ length: n }, (_, i) => centroids[groupOf(i, grouping) * k + Math.floor(random() * k)]);
      const quantization: CodebookWeightQuantization = { scheme: "codebook", bits, grouping, centroids };
      const packed = encodeQuantized(values, [n], quantization);
      expect(decodeQuantized(packed).values).toEqual(values);
      expect(packedWeightBytes(packed)).toBe(Math.ceil((n * bits) / 8) + 4 * grouping.groups * k);
      values[7] = 12.5;
      expect(() => encodeQuantized(values, [n], quantization)).toThrow(/weight 7 \(12.5\) is not in its group's codebook/);
    }
  });
});

describe("packedBytes of measureModel", () => {
  it("float32 for an uncompressed model; quantized weights packed, masked ones sparse, the smaller layout when both", () => {
    const graph = createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
    const plain = measureModel(uncompressed(graph), {});
    expect(plain.packedBytes).toBe(plain.weightBytes);
    const fc1 = graph.nodes.find((node) => node.id === "fc1");
    if (fc1?.op !== "dense") throw new Error("lenet has a dense fc1");
    const { values, quantization } = quantizeUniform(fc1.weights.kernel.values, { bits: 4, grouping: { inner: 1, groups: fc1.weights.kernel.shape[1] } }, false);
    fc1.weights.kernel.values = values;
    const quantized = withQuantization(uncompressed(graph), { fc1: { weights: { kernel: quantization } } });
    const n = values.length;
    expect(measureModel(quantized, {}).packedBytes).toBe(plain.weightBytes - 4 * n + n / 2 + quantizationParamBytes(quantization));
    const kept = Uint8Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const both = withMasks(quantized, [["fc1", "kernel", { shape: fc1.weights.kernel.shape, kept }]]);
    expect(measureModel(both, {}).packedBytes).toBe(plain.weightBytes - packedSaving(n, quantization, n / 4));
    expect(packedSaving(n, quantization, n / 4)).toBe(4 * n - (n / 8 + n / 8 + quantizationParamBytes(quantization)));
  });
});
