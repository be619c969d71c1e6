// Relu on the SIMD element-wise kernels, and the unary-kernel machinery the other element-wise
// functions (Relu6, Neg, Square, Sqrt, Rsqrt, Abs, Step) share: float32 inputs run on our
// kernels, every other dtype goes to the cpu kernel.
import { Relu, util, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo, type UnaryInputs } from "@tensorflow/tfjs-core";
import { unaryOp, type UnaryOp } from "../../kernels/elementwise.js";
import { BACKEND_NAME } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";

import { allFloat32, onCpu, type KernelArgs } from "./MaxPool.js";

/** Runs `op` on a float32 x (alpha: step's value where x <= 0), or the cpu kernel `name`. */
export function runUnary(name: string, op: UnaryOp, args: KernelArgs<UnaryInputs, NamedAttrMap>, alpha = 0): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  if (!allFloat32(x)) return onCpu(name, args);
  if (util.sizeFromShape(x.shape) === 0) return makeTensor(args.backend, x.shape, new Float32Array(0));
  const out = outputArray(args.backend, util.sizeFromShape(x.shape));
  return makeTensor(args.backend, x.shape, runKernelOp(unaryOp(op, float32Values(args.backend, x, name), alpha, out)));
}

/** The config of a unary kernel computing `op` on our kernels. */
export function unaryKernelConfig(name: string, op: UnaryOp): KernelConfig {
  return {
    kernelName: name,
    backendName: BACKEND_NAME,
    kernelFunc: ((args: KernelArgs<UnaryInputs, NamedAttrMap>) => runUnary(name, op, args)) as unknown as KernelFunc,
  };
}

export const reluConfig = unaryKernelConfig(Relu, "relu");
