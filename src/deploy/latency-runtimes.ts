// The runtimes `bench` times a model on: each a tfjs backend holding its own copy of the model
// and of the input, so that switching between them between runs moves no weights (tfjs would
// otherwise copy every weight to the newly active backend on first use, inside the timing).
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { BACKEND_NAME } from "../backend/backend.js";
import { setBackendThreads } from "../backend/executor.js";
import type { CompressedModel } from "../graph/compressed-model.js";
import type { Graph } from "../graph/ir.js";
import { buildTfjsModel } from "../tfjs/tfjs-from-graph.js";
import { selectBackend, type BackendChoice } from "../train/backend-select.js";
import { ENGINE_RUNTIME_NAMES, engineRuntime, onnxRuntime, type EngineRuntimeName } from "./engine-runtimes.js";

const TFJS_RUNTIME_NAMES = ["pocketflow", "tfjs-cpu", "tfjs-wasm", "tensorflow"] as const;
type TfjsRuntimeName = (typeof TFJS_RUNTIME_NAMES)[number];
export const RUNTIME_NAMES = [...TFJS_RUNTIME_NAMES, ...ENGINE_RUNTIME_NAMES] as const;
export type RuntimeName = TfjsRuntimeName | EngineRuntimeName;

/** The backend choice of backend-select.ts behind each runtime name. */
const BACKEND_OF: Record<TfjsRuntimeName, BackendChoice> = {
  pocketflow: "pocketflow",
  "tfjs-cpu": "cpu",
  "tfjs-wasm": "wasm",
  tensorflow: "tensorflow",
};

/** One batch of input: values of shape [batch, ...the input node's shape]. */
export interface LatencyInput {
  values: Float32Array;
  shape: number[];
}

/** A model made ready on one runtime. */
export interface LoadedRuntime {
  /** Makes this runtime the active one; called before each of its runs, outside the timing. */
  activate(): Promise<void>;
  /** One batch through the model with its outputs read back into JS, one array per output: what is timed. */
  run(): Promise<Float32Array[]>;
  /** Frees the model and the input; called once, after a failure too. */
  dispose(): void;
}

/** Something that runs a model: a tfjs backend, or a stand-in that tests inject. */
export interface LatencyRuntime {
  readonly name: string;
  /** How far its outputs may be from the first runtime's, relative to its largest |output| (default: the measurement's tolerance). */
  readonly tolerance?: number;
  /**
   * Sets the runtime up and readies the graph on it with the input; not timed. `model` is the
   * compressed model the graph belongs to, when the caller has it (the int8 engine needs it).
   */
  load(graph: Graph, input: LatencyInput, model?: CompressedModel): Promise<LoadedRuntime>;
}

export interface TfjsRuntimeOptions {
  /** Threads of the pocketflow backend; set each time it is activated, as other code may change them. */
  threads?: number;
  /** Loads an optional package (default: dynamic import); tests replace it. */
  importModule?: (specifier: string) => Promise<unknown>;
}

export function isRuntimeName(name: string): name is RuntimeName {
  return (RUNTIME_NAMES as readonly string[]).includes(name);
}

/** The runtime behind a name: a tfjs backend, our engine, or onnxruntime. */
export function runtimeOf(name: RuntimeName, options: TfjsRuntimeOptions = {}): LatencyRuntime {
  switch (name) {
    case "engine":
      return engineRuntime("fp32");
    case "engine-int8":
      return engineRuntime("int8");
    case "onnxruntime-node":
    case "onnxruntime-web":
      return onnxRuntime(name, options);
    default:
      return tfjsRuntime(name, options);
  }
}

/** The tfjs backend behind a runtime name; an absent package is an error naming what to install. */
export function tfjsRuntime(name: TfjsRuntimeName, options: TfjsRuntimeOptions = {}): LatencyRuntime {
  return {
    name,
    load: async (graph, input) => {
      let backend: string;
      try {
        backend = await selectBackend({ backend: BACKEND_OF[name], importModule: options.importModule });
      } catch (error) {
        const reason = (error instanceof Error ? error.message : String(error)).replace(/^selectBackend: /, "");
        throw new Error(`runtime "${name}" cannot run: ${reason}`);
      }
      const activate = async (): Promise<void> => {
        if (backend === BACKEND_NAME && options.threads !== undefined) setBackendThreads(options.threads);
        if (!(await tf.setBackend(backend))) throw new Error(`runtime "${name}": tfjs backend "${backend}" failed to activate`);
      };
      await activate();
      return loadedModel(graph, input, activate);
    },
  };
}

/** The graph as a tfjs model on the active backend, with the input beside it. */
function loadedModel(graph: Graph, input: LatencyInput, activate: () => Promise<void>): LoadedRuntime {
  // Logits, not a final softmax: it costs nothing next to the convolutions, and the cross-check
  // of the runtimes compares the logits, which a softmax would squash towards 0 and 1.
  const model: tfl.LayersModel = buildTfjsModel(graph, { withoutSoftmax: true });
  const inputTensor = tf.tensor(input.values, input.shape, "float32");
  const batchSize = input.shape[0];
  return {
    activate,
    run: async () => {
      // predict splits its input into batches of 32 unless told the batch size
      const predicted = model.predict(inputTensor, { batchSize });
      const outputs = Array.isArray(predicted) ? predicted : [predicted];
      try {
        return (await Promise.all(outputs.map((output) => output.data()))) as Float32Array[];
      } finally {
        for (const output of outputs) output.dispose();
      }
    },
    dispose: () => {
      inputTensor.dispose();
      model.dispose();
    },
  };
}
