// The runtimes `bench` times beside the tfjs backends: our engine (fp32, or int8 on an integer
// model), and onnxruntime on the model's ONNX export, in Node (onnxruntime-node, native) and as
// a page runs it (onnxruntime-web, its wasm backend). All on one thread, like our backend's
// default, so that a ratio compares kernels and per-op overhead, not thread counts. The
// onnxruntime packages are optional: each is imported when its runtime loads, and a missing one
// is an error that names the package to install.
import { uncompressed, type CompressedModel } from "../graph/compressed-model.js";
import type { Graph } from "../graph/ir.js";
import { exportOnnx } from "../export/onnx.js";
import { loadEngine, type EnginePrecision } from "./engine.js";
import type { LatencyInput, LatencyRuntime, LoadedRuntime } from "./latency-runtimes.js";

export const ENGINE_RUNTIME_NAMES = ["engine", "engine-int8", "onnxruntime-node", "onnxruntime-web"] as const;
export type EngineRuntimeName = (typeof ENGINE_RUNTIME_NAMES)[number];

/**
 * How far the int8 engine's logits may be from the float reference's, relative to its largest
 * |logit|: 8-bit activations move logits by a few percent; a wrong scale or zero point moves
 * them by far more than this.
 */
export const INT8_TOLERANCE = 0.25;

export interface EngineRuntimeOptions {
  /** Loads an optional package (default: dynamic import); tests replace it. */
  importModule?: (specifier: string) => Promise<unknown>;
}

/** The graph with a softmax that ends it left out, so every runtime returns logits (as the tfjs runtimes do). */
export function logitsGraph(graph: Graph): Graph {
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  const outputs = graph.outputs.map((id) => {
    const node = byId.get(id);
    return node?.op === "softmax" ? node.inputs[0] : id;
  });
  const dropped = new Set(graph.outputs.filter((id, i) => outputs[i] !== id));
  return { ...graph, nodes: graph.nodes.filter((node) => !dropped.has(node.id)), outputs };
}

/** The engine as a latency runtime: fp32 on the graph, or int8 on the compressed model. */
export function engineRuntime(precision: EnginePrecision): LatencyRuntime {
  return {
    name: precision === "fp32" ? "engine" : "engine-int8",
    tolerance: precision === "int8" ? INT8_TOLERANCE : undefined,
    load: async (graph, input, model) => {
      const source = precision === "int8" ? requireModel("engine-int8", model) : graph;
      const engine = loadEngine(source, { precision });
      const batch = input.shape[0];
      engine.plan(batch);
      return {
        activate: async () => undefined,
        // a copy: the engine reuses its output arrays, and the first runtime's outputs are the reference
        run: async () => engine.runOutputs(input.values, batch).map((output) => Float32Array.from(output)),
        dispose: () => undefined,
      };
    },
  };
}

function requireModel(name: string, model: CompressedModel | undefined): CompressedModel {
  if (model === undefined) throw new Error(`runtime "${name}" needs the compressed model (an int8 model from the uniform-tf learner), not a bare graph; pass it as measureLatency's model option`);
  return model;
}

/** The subset of onnxruntime's API (node and web agree on it) that the runtimes use. */
interface OrtModule {
  env?: { wasm?: { numThreads?: number } };
  Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => unknown;
  InferenceSession: {
    create(bytes: Uint8Array, options: Record<string, unknown>): Promise<OrtSession>;
  };
}

interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
  release(): Promise<void>;
}

/** onnxruntime-node or onnxruntime-web on the graph's float ONNX export, one thread. */
export function onnxRuntime(name: "onnxruntime-node" | "onnxruntime-web", options: EngineRuntimeOptions = {}): LatencyRuntime {
  const importModule = options.importModule ?? ((specifier: string) => import(specifier));
  return {
    name,
    load: async (graph, input) => {
      let ort: OrtModule;
      try {
        const imported = (await importModule(name)) as OrtModule & { default?: OrtModule };
        ort = imported.InferenceSession ? imported : (imported.default as OrtModule);
      } catch (error) {
        throw new Error(`runtime "${name}" cannot run: the package ${name} is not installed (${error instanceof Error ? error.message : String(error)}); install it with npm install ${name}`);
      }
      const logits = logitsGraph(graph);
      const bytes = exportOnnx(uncompressed(logits), { flavor: "float" });
      if (name === "onnxruntime-web" && ort.env?.wasm) ort.env.wasm.numThreads = 1;
      const sessionOptions = name === "onnxruntime-web"
        ? { executionProviders: ["wasm"], graphOptimizationLevel: "all" }
        : { executionProviders: ["cpu"], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all" };
      const session = await ort.InferenceSession.create(bytes, sessionOptions);
      return loadedSession(ort, session, input, logits.outputs);
    },
  };
}

function loadedSession(ort: OrtModule, session: OrtSession, input: LatencyInput, outputs: readonly string[]): LoadedRuntime {
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", input.values, input.shape) };
  return {
    activate: async () => undefined,
    run: async () => {
      const result = await session.run(feeds);
      return outputs.map((id) => result[id].data as Float32Array);
    },
    dispose: () => void session.release(),
  };
}
