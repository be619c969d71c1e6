// relu6 as one Relu6 kernel (PocketflowReLU with maxValue 6, what buildTfjsModel makes of a relu6 node) against
// tfjs-layers' ReLU with maxValue 6 (relu, then clipByValue), and Relu6's gradient
// (PocketflowClipGrad on ours) against tfjs's on cpu.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { describe, expect, it } from "vitest";
import { graphFromTfjs } from "../../src/tfjs/graph-from-tfjs.js";
import { PocketflowReLU } from "../../src/tfjs/relu-layers.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import type { Graph } from "../../src/graph/ir.js";
import { conv, input, plain } from "../graph/test-graphs.js";
import { errorAgainstCpu, OURS, seededValues } from "./compare.js";

/** The values, with -0 read as 0 (the two paths may differ in the sign of a zero). */
const values = (t: tf.Tensor | Float32Array): number[] => Array.from(t instanceof Float32Array ? t : (t.dataSync() as Float32Array), (v) => (v === 0 ? 0 : v));

/** Values spread over [-12, 12) with 0, 6, -0, just above 0 and just above 6 among them. */
function probeValues(n: number, seed: number): Float32Array {
  const x = seededValues(n, seed).map((v) => 12 * v);
  const specials = [0, 6, -0, 1e-30, 6.000001, -1e-30];
  for (let i = 0; i < n; i += 7) x[i] = specials[(i / 7) % specials.length];
  return x;
}

const reluConvGraph = (): Graph => ({
  name: "conv_relu6",
  nodes: [input("image", [6, 6, 3]), conv("conv1", "image", 3, 3, 5), plain("relu6", "act", "conv1")],
  outputs: ["act"],
});

describe("relu6 layer: one Relu6 kernel, serialized as tfjs-layers' ReLU with maxValue 6", () => {
  it("gives the standard layer's outputs and gradients, on ours and on cpu", async () => {
    for (const backend of [OURS, "cpu"]) {
      await tf.setBackend(backend);
      const x = tf.tensor4d(probeValues(2 * 5 * 5 * 4, 3), [2, 5, 5, 4]);
      const weights = tf.tensor4d(seededValues(2 * 5 * 5 * 4, 4), [2, 5, 5, 4]);
      const ours = new PocketflowReLU({ maxValue: 6 });
      const standard = tfl.layers.reLU({ maxValue: 6 });
      const outputOf = (layer: tfl.layers.Layer) => (v: tf.Tensor): tf.Tensor => layer.apply(v) as tf.Tensor;
      expect(values(outputOf(ours)(x)), backend).toEqual(values(outputOf(standard)(x)));
      const gradientOf = (layer: tfl.layers.Layer): Float32Array =>
        tf.grad((v: tf.Tensor) => tf.sum(tf.mul(outputOf(layer)(v), weights)))(x).dataSync() as Float32Array;
      expect(values(gradientOf(ours)), backend).toEqual(values(gradientOf(standard)));
      tf.dispose([x, weights]);
    }
  });
  it("runs Relu6 (not Relu and ClipByValue) and saves as a plain ReLU that tf.loadLayersModel and graphFromTfjs read", async () => {
    await tf.setBackend(OURS);
    const model = buildTfjsModel(reluConvGraph());
    const act = model.getLayer("act");
    expect(act).toBeInstanceOf(PocketflowReLU);
    expect(act.getClassName()).toBe("ReLU");
    const x = tf.tensor4d(probeValues(2 * 6 * 6 * 3, 5), [2, 6, 6, 3]);
    const kernels = (await tf.profile(() => model.predict(x) as tf.Tensor)).kernels.map((k) => k.name);
    expect(kernels).toContain("Relu6");
    expect(kernels).not.toContain("ClipByValue");
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }));
    expect(JSON.stringify(artifacts?.modelTopology)).toMatch(/"class_name":"ReLU","config":\{"max_value":6/);
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
    expect(loaded.getLayer("act")).not.toBeInstanceOf(PocketflowReLU);
    expect(graphFromTfjs(loaded)).toEqual(graphFromTfjs(model));
    expect((loaded.predict(x) as tf.Tensor).dataSync()).toEqual((model.predict(x) as tf.Tensor).dataSync());
    tf.dispose(x);
    model.dispose();
    loaded.dispose();
  });
});

describe("Relu6's gradient (PocketflowClipGrad on ours) matches cpu", () => {
  it("dy where 0 < x <= 6: zero at x = 0 and above 6, dy at 6 and just above 0", async () => {
    const x = (): tf.Tensor => tf.tensor1d(probeValues(97, 6));
    const probe = (): tf.Tensor => tf.tensor1d(seededValues(97, 7));
    expect(await errorAgainstCpu(() => tf.grad((v) => tf.sum(tf.mul(tf.relu6(v), probe())))(x()))).toBe(0);
    await tf.setBackend(OURS);
    const edges = tf.grad((v) => tf.sum(tf.relu6(v)))(tf.tensor1d([0, -0, 1e-30, 1.4e-45, 6, 6.000001, -1, NaN]));
    expect(Array.from(await edges.data())).toEqual([0, 0, 1, 1, 1, 0, 0, 0]);
    const kernels = (await tf.profile(() => tf.grad((v) => tf.sum(tf.relu6(v)))(x()))).kernels.map((k) => k.name);
    expect(kernels).toContain("PocketflowClipGrad");
    expect(kernels).not.toContain("LessEqual");
  });
});
