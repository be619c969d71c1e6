// What the engine runs: a program of steps, each bound once per batch size to fixed pointers in
// the engine's kernel memory, leaving a flat list of calls. A kernel operation (operation.ts) is
// built once at bind time and its phases kept as calls with their arguments: its checks, staging
// and closures then cost nothing per run, which at batch 1 is most of what a tfjs op costs.
import type { KernelCore } from "../kernels/core.js";
import type { KernelCall, OperationBuilder } from "../kernels/operation.js";

/** One unit of work of a bound step: a wasm call with fixed arguments, or a little JS. */
export type Runnable = () => void;

/** Pointers a step is bound to: its inputs' and its output's, in the engine's memory. */
export interface StepPointers {
  inputs: readonly number[];
  output: number;
}

export interface EngineStep {
  /** Id of the tensor the step writes (the graph node's id, or a name of the engine's own). */
  readonly output: string;
  /** Ids of the tensors it reads. */
  readonly inputs: readonly string[];
  /** Bytes of its output per example of the batch. */
  readonly outputBytesPerExample: number;
  /** The work of one run at this batch size, over these pointers. Called once per batch size. */
  bind(batch: number, pointers: StepPointers): Runnable[];
}

/** A model lowered for the engine: float input in, float outputs out. */
export interface EngineProgram {
  /** The float32 input tensor: its id and shape of one example. */
  readonly input: { id: string; shape: readonly number[] };
  readonly steps: readonly EngineStep[];
  /** The float32 tensors returned, with the shape of one example each. */
  readonly outputs: ReadonlyArray<{ id: string; shape: readonly number[] }>;
}

const asRunnable = (core: KernelCore, [name, args]: KernelCall): Runnable => {
  const fn = core.exports[name] as ((...a: number[]) => unknown) | undefined;
  if (typeof fn !== "function") throw new Error(`engine: the kernels have no export named ${name}; rebuild them with npm run asbuild`);
  const fixed = [...args];
  return () => void fn(...fixed);
};

/**
 * The calls of an operation built over resident arrays, on one thread. Its scratch is released
 * at once: steps run one after another, so the next step's scratch may reuse it. That is safe
 * because every array an operation keeps across runs (weights, biases, prepared filters, the
 * arena) was allocated before and stays allocated; only transient scratch is handed back.
 */
export function bindOperation<T>(core: KernelCore, build: OperationBuilder<T>): Runnable[] {
  const op = build(core, 1);
  try {
    return op.phases.flatMap((phase) => phase.map((call) => asRunnable(core, call)));
  } finally {
    op.release();
  }
}

/** A raw wasm call as a runnable. */
export const kernelCall = (core: KernelCore, name: string, args: readonly number[]): Runnable => asRunnable(core, [name, args]);
