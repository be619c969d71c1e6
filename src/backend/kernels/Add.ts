// Add on the SIMD element-wise kernels, and the binary-kernel machinery the other arithmetic
// kernels (Multiply, Sub, RealDiv, Maximum, Minimum, SquaredDifference) share. Float32
// operands in the broadcast shapes training produces run on our kernels: the same shape, one
// side a single value, one side repeating over the other's leading axes (a [C] or
// [1, 1, 1, C] per-channel vector against [N, H, W, C]), or over its middle axes (a
// per-sample [N, 1, 1, C] against [N, H, W, C], which the cpu kernel walks index by index);
// any other broadcast and every other dtype go to the cpu kernel.
import { Add, backend_util, util, type BinaryInputs, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { binaryBlockRowOp, binaryOp, binaryRowOp, binaryScalarOp, type BinaryOp } from "../../kernels/elementwise.js";
import type { OperationBuilder } from "../../kernels/operation.js";
import { BACKEND_NAME } from "../backend.js";
import { runKernelOp } from "../executor.js";
import type { PocketflowBackend } from "../backend.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";
import { allFloat32, onCpu, type KernelArgs } from "./MaxPool.js";

/** How a binary operation's operands line up with its output, when our kernels can run it. */
export type BinaryPlan =
  | { kind: "same" }
  | { kind: "scalar"; scalarIsA: boolean }
  | { kind: "row"; rowIsA: boolean }
  | { kind: "blockRow"; rowIsA: boolean; blocks: number };

/**
 * How many blocks `shape` repeats over when broadcast to `outShape`, reading the output as
 * [blocks, rows, cols]: the shape's axes (leading 1s added) equal the output's on a leading
 * run (blocks) and a trailing run (cols) and are 1 in between (rows). Undefined otherwise.
 */
export function broadcastBlocks(shape: readonly number[], outShape: readonly number[]): number | undefined {
  if (shape.length > outShape.length) return undefined;
  const padded = [...Array<number>(outShape.length - shape.length).fill(1), ...shape];
  let part: "blocks" | "rows" | "cols" = "blocks";
  let blocks = 1;
  for (const [axis, d] of outShape.entries()) {
    if (d === 1) continue;
    if (padded[axis] === 1) {
      if (part === "cols") return undefined;
      part = "rows";
    } else if (padded[axis] === d) {
      if (part === "blocks") blocks *= d;
      else part = "cols";
    } else {
      return undefined;
    }
  }
  return blocks;
}

/**
 * The plan for operands of shapes a and b broadcast to `out`, or undefined for broadcasts the
 * kernels do not cover. A "row" operand, after dropping its leading 1s, equals the trailing
 * axes of the output, while the other operand has the output's shape; a "blockRow" operand
 * is such a row per block of leading axes (see broadcastBlocks).
 */
export function binaryPlan(aShape: readonly number[], bShape: readonly number[], outShape: readonly number[]): BinaryPlan | undefined {
  const aSize = util.sizeFromShape(aShape as number[]);
  const bSize = util.sizeFromShape(bShape as number[]);
  const outSize = util.sizeFromShape(outShape as number[]);
  // with every size-1-or-equal axis, a size equal to the output's means the same layout
  if (aSize === outSize && bSize === outSize) return { kind: "same" };
  if (aSize === outSize && bSize === 1) return { kind: "scalar", scalarIsA: false };
  if (bSize === outSize && aSize === 1) return { kind: "scalar", scalarIsA: true };
  const rowPlan = (rowShape: readonly number[], rowIsA: boolean): BinaryPlan | undefined => {
    const blocks = broadcastBlocks(rowShape, outShape);
    if (blocks === undefined) return undefined;
    return blocks === 1 ? { kind: "row", rowIsA } : { kind: "blockRow", rowIsA, blocks };
  };
  if (aSize === outSize) return rowPlan(bShape, false);
  if (bSize === outSize) return rowPlan(aShape, true);
  return undefined;
}

/** Our operation computing a op b as `plan` lines them up. */
function planOp(op: BinaryOp, plan: BinaryPlan, av: Float32Array, bv: Float32Array, out: Float32Array): OperationBuilder<Float32Array> {
  switch (plan.kind) {
    case "same": return binaryOp(op, av, bv, out);
    case "scalar": return plan.scalarIsA ? binaryScalarOp(op, bv, av[0], true, out) : binaryScalarOp(op, av, bv[0], false, out);
    case "row": return plan.rowIsA ? binaryRowOp(op, bv, av, true, out) : binaryRowOp(op, av, bv, false, out);
    case "blockRow": return plan.rowIsA ? binaryBlockRowOp(op, bv, av, plan.blocks, true, out) : binaryBlockRowOp(op, av, bv, plan.blocks, false, out);
  }
}

/** Runs `op` on float32 a and b, or the cpu kernel `name` where the kernels do not apply. */
export function runBinary(name: string, op: BinaryOp, args: KernelArgs<BinaryInputs, Record<string, never>>): TensorInfo {
  const { backend } = args;
  const a = args.inputs.a as TensorInfo;
  const b = args.inputs.b as TensorInfo;
  if (!allFloat32(a, b)) return onCpu(name, args);
  const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const plan = binaryPlan(a.shape, b.shape, outShape);
  if (!plan) return onCpu(name, args);
  const av = float32Values(backend, a, name);
  const bv = float32Values(backend, b, name);
  if (util.sizeFromShape(outShape) === 0) return makeTensor(backend, outShape, new Float32Array(0));
  return makeTensor(backend, outShape, runKernelOp(planOp(op, plan, av, bv, outputArray(backend, util.sizeFromShape(outShape)))));
}

/** The config of a binary kernel computing `op` on our kernels. */
export function binaryKernelConfig(name: string, op: BinaryOp): KernelConfig {
  return {
    kernelName: name,
    backendName: BACKEND_NAME,
    kernelFunc: ((args: KernelArgs<BinaryInputs, Record<string, never>>) => runBinary(name, op, args)) as unknown as KernelFunc,
  };
}

export const addConfig = binaryKernelConfig(Add, "add");
