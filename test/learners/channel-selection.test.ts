// Channel selection and reconstruction for one conv (He et al. 2017): LASSO finds the channels
// the outputs really depend on, where the weight-magnitude and random baselines do not, and
// least squares then reproduces the outputs from the kept channels.
import { describe, expect, it } from "vitest";
import { gram, leastSquares } from "../../src/kernels/lasso.js";
import { reconstructKernel, relativeReconstructionError, selectChannels, type ConvSamples } from "../../src/learners/channel-selection.js";
import { seededRandom } from "../../src/util/random.js";

const [taps, cin, cout, rows] = [9, 12, 6, 300];
const random = seededRandom(7);
const normal = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
const SUPPORT = [1, 4, 9];

/** Outputs that depend on channels 1, 4, 9 only; the other channels' weights are large but their inputs never reach Y. */
function samples(): { s: ConvSamples; kernel: Float32Array } {
  const patches = Float32Array.from({ length: rows * taps * cin }, normal);
  const kernel = Float32Array.from({ length: taps * cin * cout }, (_, i) => {
    const channel = Math.floor(i / cout) % cin;
    return (SUPPORT.includes(channel) ? 0.2 : 3) * normal(); // sum |W| prefers the wrong channels
  });
  const targets = new Float32Array(rows * cout);
  for (let n = 0; n < rows; n++) {
    for (let t = 0; t < taps; t++) {
      for (const c of SUPPORT) {
        const x = patches[(n * taps + t) * cin + c];
        for (let o = 0; o < cout; o++) targets[n * cout + o] += x * kernel[(t * cin + c) * cout + o];
      }
    }
  }
  return { s: { patches, targets, rows, taps, inChannels: cin, outChannels: cout }, kernel };
}

describe("channel selection x=[300 rows, 3x3 taps, 12 -> 6 channels]", () => {
  const { s, kernel } = samples();
  it("LASSO finds the 3 channels Y depends on; least squares then reproduces Y", () => {
    const choice = selectChannels("lasso", s, kernel, 3);
    expect(choice).toEqual({ kept: SUPPORT });
    const weights = reconstructKernel(s, choice.kept);
    expect(weights).toHaveLength(taps * 3 * cout);
    expect(relativeReconstructionError(s, choice.kept, weights)).toBeLessThan(1e-6);
  });

  it("the baselines it must beat: sum |W| picks the large useless channels, random is seeded; both reconstruct worse", () => {
    const byWeights = selectChannels("sum-abs", s, kernel, 3);
    expect(byWeights.kept.some((c) => SUPPORT.includes(c))).toBe(false);
    const first = selectChannels("random", s, kernel, 3, 1);
    expect(selectChannels("random", s, kernel, 3, 1)).toEqual(first);
    expect(selectChannels("random", s, kernel, 3, 2)).not.toEqual(first);
    for (const kept of [byWeights.kept, first.kept]) {
      expect(relativeReconstructionError(s, kept, reconstructKernel(s, kept))).toBeGreaterThan(0.2);
    }
  });

  it("refuses a keep outside 1..inChannels", () => {
    expect(() => selectChannels("lasso", s, kernel, 0)).toThrow("keep must be an integer in 1..12, but got 0");
    expect(() => selectChannels("sum-abs", s, kernel, 13)).toThrow("keep must be an integer in 1..12, but got 13");
  });
});

describe("reconstruction with few samples per weight (a 1x1 conv reading 64 channels, 80 rows)", () => {
  it("is ridge-regularized, and so reproduces held-out rows better than the plain least-squares fit of the samples", () => {
    const [features, outputs, trainRows, heldOutRows] = [64, 4, 80, 2000];
    const truth = Float32Array.from({ length: features * outputs }, normal);
    const make = (n: number): ConvSamples => {
      const patches = Float32Array.from({ length: n * features }, normal);
      const targets = new Float32Array(n * outputs);
      for (let r = 0; r < n; r++) {
        for (let o = 0; o < outputs; o++) {
          let y = 3 * normal(); // what the kept channels cannot explain
          for (let f = 0; f < features; f++) y += patches[r * features + f] * truth[f * outputs + o];
          targets[r * outputs + o] = y;
        }
      }
      return { patches, targets, rows: n, taps: 1, inChannels: features, outChannels: outputs };
    };
    const train = make(trainRows);
    const heldOut = make(heldOutRows);
    const all = Array.from({ length: features }, (_, c) => c);
    const plain = leastSquares(gram(train.patches, trainRows, features, train.targets, outputs)).weights;
    const ridged = reconstructKernel(train, all);
    expect(relativeReconstructionError(heldOut, all, ridged)).toBeLessThan(relativeReconstructionError(heldOut, all, plain) * 0.9);
  });
});
