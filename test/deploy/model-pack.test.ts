// The engine's deployment files: a model comes back from packModel/unpackModel with the same
// graph (float weights bit for bit, int8-quantized weights as q·scale) and the same predictions.
import { describe, expect, it } from "vitest";
import { loadEngine } from "../../src/deploy/engine.js";
import { packModel, unpackModel } from "../../src/deploy/model-pack.js";
import { uncompressed, withQuantization, type CompressedModel } from "../../src/graph/compressed-model.js";
import type { Conv2DNode } from "../../src/graph/ir.js";
import { createNet } from "../../src/nets/zoo.js";
import { randomFloats } from "../kernels/random.js";

describe("packModel / unpackModel", () => {
  it("lenet: the graph comes back equal and predicts the same", () => {
    const model = uncompressed(createNet("lenet", { seed: 1 }));
    const { manifest, weights } = packModel(model);
    const back = unpackModel(manifest, weights);
    expect(back.graph).toEqual(model.graph);
    const x = randomFloats(2 * 28 * 28, 1);
    expect(loadEngine(back).run(x, 2)).toEqual(loadEngine(model).run(x, 2));
  });

  it("a kernel quantized to 8-bit symmetric per channel is stored as int8 codes (a quarter of the bytes) and restored as q·scale", () => {
    const graph = createNet("lenet", { seed: 2 });
    const conv = graph.nodes.find((node): node is Conv2DNode => node.op === "conv2d") as Conv2DNode;
    const channels = conv.filters;
    const scales = Float32Array.from({ length: channels }, (_, c) => 0.01 * (c + 1));
    conv.weights.kernel.values = Float32Array.from(conv.weights.kernel.values, (_, i) => Math.fround(((i % 255) - 127) * scales[i % channels]));
    const model: CompressedModel = withQuantization(uncompressed(graph), {
      [conv.id]: { weights: { kernel: { scheme: "uniform", bits: 8, symmetric: true, grouping: { inner: 1, groups: channels }, scales, zeroPoints: new Int32Array(channels) } } },
    });
    const floatBytes = packModel(uncompressed(graph)).weights.length;
    const { manifest, weights } = packModel(model);
    expect(floatBytes - weights.length).toBeGreaterThanOrEqual(3 * conv.weights.kernel.values.length - 4);
    const back = unpackModel(manifest, weights);
    expect(back.graph).toEqual(model.graph);
    expect(back.quantization).toEqual(model.quantization);
  });

  it("a manifest of another format is refused with what to do", () => {
    expect(() => unpackModel(JSON.stringify({ format: "other/9" }), new Uint8Array())).toThrow(/format is 'other\/9'.*pack the model again with packModel/);
  });
});
