// The inference engine: a compressed model run straight from the IR on the core's kernels,
// without tfjs. It is what a browser page, an edge box or a serverless function loads: the
// kernels' wasm, these modules and the model. Weights are packed into the engine's own kernel
// memory once, at load; the first run at a batch size plans every tensor's place in one arena and
// binds each step's kernel calls to it (engine-plan.ts, engine-step.ts), so later runs at that
// batch size are a flat list of wasm calls and allocate nothing. One thread, inline: at batch 1
// the per-op overhead of a framework is most of the time, and here it is one JS call per kernel.
// The engine owns its KernelCore (its own wasm instance and memory), so nothing else allocates
// among its buffers and a step's scratch can be reused by the next step.
import { uncompressed, type CompressedModel } from "../graph/compressed-model.js";
import { sizeOf, type Graph } from "../graph/ir.js";
import { KernelCore } from "../kernels/core.js";
import { checkInteger, fail } from "../util/check.js";
import { lowerFloat } from "./engine-f32.js";
import { lowerInt8 } from "./engine-int8.js";
import { lifetimesOf, planArena } from "./engine-plan.js";
import type { EngineProgram, Runnable } from "./engine-step.js";

export type EnginePrecision = "fp32" | "int8";

export interface EngineOptions {
  /**
   * fp32 runs the float graph (pruned and shrunk models included); int8 runs an integer model
   * (deploy/int8-model.ts) with uint8 activations and int8 weights. Default fp32.
   */
  precision?: EnginePrecision;
  /** Apply a softmax that ends the model (default false: run() returns logits). */
  finalSoftmax?: boolean;
}

export interface Engine {
  readonly precision: EnginePrecision;
  /** Shape of one example of the input, without the batch. */
  readonly inputShape: readonly number[];
  /** Shape of one example of each output. */
  readonly outputShapes: ReadonlyArray<readonly number[]>;
  /**
   * The first output (the logits) of a batch of `batch` examples, NHWC, batch first. The array
   * is the engine's own and is overwritten by the next run at the same batch size: copy it to keep it.
   */
  run(input: Float32Array, batch?: number): Float32Array;
  /** Every output, in the graph's order; the arrays are reused as run()'s is. */
  runOutputs(input: Float32Array, batch?: number): Float32Array[];
  /** Plans the buffers of a batch size now rather than at its first run. */
  plan(batch: number): void;
  /** Bytes of the engine's kernel memory: packed weights, arenas and scratch. */
  readonly memoryBytes: number;
}

/** The buffers and bound calls of one batch size. */
interface BatchPlan {
  inputView: Float32Array;
  runnables: Runnable[];
  outputViews: Float32Array[];
  outputs: Float32Array[];
}

/** Loads a model (or a bare graph) into a new engine; see the file header. */
export function loadEngine(model: CompressedModel | Graph, options: EngineOptions = {}): Engine {
  const compressed = "graph" in model ? model : uncompressed(model);
  const precision = options.precision ?? "fp32";
  if (precision !== "fp32" && precision !== "int8") fail("loadEngine", `precision must be 'fp32' or 'int8', but got '${String(precision)}'`);
  const core = new KernelCore();
  const program = lowerProgram(compressed, core, precision, options.finalSoftmax ?? false);
  return new ProgramEngine(core, program, precision);
}

function lowerProgram(model: CompressedModel, core: KernelCore, precision: EnginePrecision, finalSoftmax: boolean): EngineProgram {
  if (precision === "fp32") return lowerFloat(model.graph, core, { finalSoftmax });
  return lowerInt8(model, core, { finalSoftmax });
}

class ProgramEngine implements Engine {
  private readonly plans = new Map<number, BatchPlan>();
  private readonly inputSize: number;
  readonly inputShape: readonly number[];
  readonly outputShapes: ReadonlyArray<readonly number[]>;

  constructor(private readonly core: KernelCore, private readonly program: EngineProgram, readonly precision: EnginePrecision) {
    this.inputShape = program.input.shape;
    this.inputSize = sizeOf(program.input.shape);
    this.outputShapes = program.outputs.map((output) => output.shape);
  }

  get memoryBytes(): number {
    return this.core.memory.buffer.byteLength;
  }

  run(input: Float32Array, batch = 1): Float32Array {
    return this.runOutputs(input, batch)[0];
  }

  runOutputs(input: Float32Array, batch = 1): Float32Array[] {
    const plan = this.plans.get(batch) ?? this.planned(batch);
    if (input.length !== batch * this.inputSize) {
      fail("engine.run", `input must hold batch × [${this.inputShape.join(", ")}] = ${batch * this.inputSize} values, but has ${input.length}; pass the batch size as the second argument`);
    }
    plan.inputView.set(input);
    const runnables = plan.runnables;
    for (let i = 0; i < runnables.length; i++) runnables[i]();
    for (let o = 0; o < plan.outputs.length; o++) plan.outputs[o].set(plan.outputViews[o]);
    return plan.outputs;
  }

  plan(batch: number): void {
    if (!this.plans.has(batch)) this.planned(batch);
  }

  private planned(batch: number): BatchPlan {
    checkInteger("engine.run", "batch", batch, 1, 2 ** 20);
    const { program, core } = this;
    const steps = program.steps.map((step) => ({ output: step.output, inputs: step.inputs, outputBytes: batch * step.outputBytesPerExample }));
    const input = { id: program.input.id, bytes: batch * this.inputSize * 4 };
    const arena = planArena(lifetimesOf(steps, input, program.outputs.map((output) => output.id)));
    // the arena is held for the engine's life; it is allocated before any step binds, so no step's scratch lies in it
    const base = core.malloc(arena.totalBytes);
    const pointer = (id: string): number => base + (arena.offsets.get(id) as number);
    const runnables = program.steps.flatMap((step) => step.bind(batch, { inputs: step.inputs.map(pointer), output: pointer(step.output) }));
    const plan: BatchPlan = {
      inputView: core.view(Float32Array, pointer(program.input.id), batch * this.inputSize),
      runnables,
      outputViews: program.outputs.map((output) => core.view(Float32Array, pointer(output.id), batch * sizeOf(output.shape))),
      outputs: program.outputs.map((output) => new Float32Array(batch * sizeOf(output.shape))),
    };
    this.plans.set(batch, plan);
    return plan;
  }
}
