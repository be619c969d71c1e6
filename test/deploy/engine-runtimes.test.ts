// The engine and onnxruntime as latency runtimes: they load, agree with our tfjs backend on the
// logits (measureLatency checks every run), and a missing onnxruntime package is named.
import { beforeAll, describe, expect, it } from "vitest";
import { logitsGraph, onnxRuntime } from "../../src/deploy/engine-runtimes.js";
import { measureLatency, randomInput } from "../../src/deploy/latency.js";
import { createNet } from "../../src/nets/zoo.js";
import { selectBackend } from "../../src/train/backend-select.js";

beforeAll(async () => {
  await selectBackend({ backend: "pocketflow" });
});

describe("engine and onnxruntime runtimes", () => {
  const graph = createNet("lenet", { seed: 1 });

  it("pocketflow, engine, onnxruntime-node and onnxruntime-web agree on lenet's logits (batch 2, 2 runs each)", async () => {
    const summary = await measureLatency(graph, { runtimes: ["pocketflow", "engine", "onnxruntime-node", "onnxruntime-web"], batch: 2, runs: 2, warmupRuns: 1 });
    expect(summary.runtimes.map((r) => r.runtime)).toEqual(["pocketflow", "engine", "onnxruntime-node", "onnxruntime-web"]);
    for (const runtime of summary.runtimes) expect(runtime.maxRelativeDifference).toBeLessThan(1e-4);
  });

  it("a missing onnxruntime package is an error naming it and how to install it", async () => {
    const runtime = onnxRuntime("onnxruntime-web", { importModule: async () => { throw new Error("Cannot find package"); } });
    await expect(runtime.load(graph, randomInput(graph, 1, 0))).rejects.toThrow(/runtime "onnxruntime-web" cannot run: the package onnxruntime-web is not installed .*npm install onnxruntime-web/);
  });

  it("logitsGraph drops a softmax that ends the model and keeps the rest", () => {
    const logits = logitsGraph(graph);
    expect(logits.nodes.length).toBe(graph.nodes.length - 1);
    expect(logits.outputs).toEqual([graph.nodes[graph.nodes.length - 1].inputs[0]]);
  });
});
