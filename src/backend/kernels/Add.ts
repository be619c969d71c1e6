// Add on the SIMD element-wise kernels, and the binary-kernel machinery the other arithmetic
// kernels (Multiply, Sub, RealDiv, Maximum, Minimum, SquaredDifference) share. Float32
// operands in the broadcast shapes training produces run on our kernels: the same shape, one
// side a single value, or one side repeating over the other's leading axes (a [C] or
// [1, 1, 1, C] per-channel vector against [N, H, W, C]); any other broadcast and every other
// dtype go to the cpu kernel.
import { Add, backend_util, util, type BinaryInputs, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { binaryOp, binaryRowOp, binaryScalarOp, type BinaryOp } from "../../kernels/elementwise.js";
import { BACKEND_NAME } from "../backend.js";
import { runKernelOp } from "../executor.js";
import type { PocketflowBackend } from "../backend.js";
import { float32Values, makeTensor } from "../tensor-data.js";
import { allFloat32, onCpu, type KernelArgs } from "./MaxPool.js";

/** How a binary operation's operands line up with its output, when our kernels can run it. */
export type BinaryPlan =
  | { kind: "same" }
  | { kind: "scalar"; scalarIsA: boolean }
  | { kind: "row"; rowIsA: boolean };

/**
 * The plan for operands of shapes a and b broadcast to `out`, or undefined for broadcasts the
 * kernels do not cover. A "row" operand, after dropping its leading 1s, equals the trailing
 * axes of the output, while the other operand has the output's shape.
 */
export function binaryPlan(aShape: readonly number[], bShape: readonly number[], outShape: readonly number[]): BinaryPlan | undefined {
  const aSize = util.sizeFromShape(aShape as number[]);
  const bSize = util.sizeFromShape(bShape as number[]);
  const outSize = util.sizeFromShape(outShape as number[]);
  // with every size-1-or-equal axis, a size equal to the output's means the same layout
  if (aSize === outSize && bSize === outSize) return { kind: "same" };
  if (aSize === outSize && bSize === 1) return { kind: "scalar", scalarIsA: false };
  if (bSize === outSize && aSize === 1) return { kind: "scalar", scalarIsA: true };
  const isRow = (shape: readonly number[]): boolean => {
    let first = 0;
    while (first < shape.length && shape[first] === 1) first++;
    const tail = shape.slice(first);
    const outTail = outShape.slice(outShape.length - tail.length);
    return tail.length <= outShape.length && tail.every((d, i) => d === outTail[i]);
  };
  if (aSize === outSize && isRow(bShape)) return { kind: "row", rowIsA: false };
  if (bSize === outSize && isRow(aShape)) return { kind: "row", rowIsA: true };
  return undefined;
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
  let out: Float32Array;
  if (plan.kind === "same") out = runKernelOp(binaryOp(op, av, bv));
  else if (plan.kind === "scalar") out = runKernelOp(plan.scalarIsA ? binaryScalarOp(op, bv, av[0], true) : binaryScalarOp(op, av, bv[0], false));
  else out = runKernelOp(plan.rowIsA ? binaryRowOp(op, bv, av, true) : binaryRowOp(op, av, bv, false));
  return makeTensor(backend, outShape, out);
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
