// Sum on the SIMD sum kernels, and the reduction machinery Mean shares. A float32 reduction
// runs on our kernels when, ignoring axes of size 1, its axes are the leading ones (column
// sums: batch-norm statistics over N, H, W of [N, H, W, C]), the trailing ones (row sums), all
// of them, or a middle run (global average pooling over H, W); other axis sets and dtypes go
// to the cpu kernel.
import {
  backend_util, Sum, util, type KernelConfig, type KernelFunc, type SumAttrs, type SumInputs, type TensorInfo,
} from "@tensorflow/tfjs-core";
import { sumMiddleOp, sumOp, type SumAxis } from "../../kernels/elementwise.js";
import { BACKEND_NAME } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor } from "../tensor-data.js";

import { allFloat32, onCpu, type KernelArgs } from "./MaxPool.js";

/** A reduction as sums of a [rows, cols] matrix, or over the rows of each block of [blocks, rows, cols] ("middle"). */
export type ReductionPlan = { over: SumAxis; rows: number; cols: number } | { over: "middle"; blocks: number; rows: number; cols: number };

/** The reduction of `shape` over `axes` as a matrix or block sum, or undefined. */
export function reductionPlan(shape: readonly number[], axes: readonly number[]): ReductionPlan | undefined {
  const groups: Array<{ reduced: boolean; size: number }> = [];
  shape.forEach((size, axis) => {
    if (size === 1) return;
    const reduced = axes.includes(axis);
    const last = groups[groups.length - 1];
    if (last && last.reduced === reduced) last.size *= size;
    else groups.push({ reduced, size });
  });
  if (groups.length === 0) return { over: "all", rows: 1, cols: 1 };
  if (groups.length === 1) return groups[0].reduced ? { over: "all", rows: 1, cols: groups[0].size } : { over: "columns", rows: groups[0].size, cols: 1 };
  if (groups.length === 2) {
    const [first, second] = groups;
    return first.reduced ? { over: "rows", rows: first.size, cols: second.size } : { over: "columns", rows: first.size, cols: second.size };
  }
  if (groups.length === 3 && groups[1].reduced) return { over: "middle", blocks: groups[0].size, rows: groups[1].size, cols: groups[2].size };
  return undefined;
}

/**
 * Sums x over attrs.axis on our kernels, times 1 / (reduced size) when `mean`; the cpu kernel
 * `name` where the kernels do not apply.
 */
export function runReduction(name: string, mean: boolean, args: KernelArgs<SumInputs, SumAttrs>): TensorInfo {
  const { backend, attrs } = args;
  const x = args.inputs.x as TensorInfo;
  if (!allFloat32(x) || util.sizeFromShape(x.shape) === 0) return onCpu(name, args);
  const axes = util.parseAxisParam(attrs.axis, x.shape);
  const plan = reductionPlan(x.shape, axes);
  if (!plan) return onCpu(name, args);
  const [outShape, reduceShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
  const resultShape = attrs.keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
  if (util.sizeFromShape(reduceShape) === 1) {
    // every reduced axis has size 1 (a global pool of a 1x1 map): the values are x's, shared by id
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: resultShape, dtype: x.dtype };
  }
  const scale = mean ? 1 / util.sizeFromShape(reduceShape) : 1;
  const xv = float32Values(backend, x, name);
  const out = runKernelOp(plan.over === "middle" ? sumMiddleOp(xv, plan.blocks, plan.rows, plan.cols, scale) : sumOp(xv, plan.rows, plan.cols, plan.over, scale));
  return makeTensor(backend, resultShape, out);
}

export function sum(args: KernelArgs<SumInputs, SumAttrs>): TensorInfo {
  return runReduction(Sum, false, args);
}

export const sumConfig: KernelConfig = {
  kernelName: Sum,
  backendName: BACKEND_NAME,
  kernelFunc: sum as unknown as KernelFunc,
};
