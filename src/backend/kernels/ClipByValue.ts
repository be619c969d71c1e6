// ClipByValue on the SIMD element-wise kernels: tfjs-layers' ReLU with a max value (MobileNet's
// relu6) runs it after every convolution, and the cpu kernel's per-element JS loop cost about
// half of a MobileNet-v2 inference. Float32 inputs only; other dtypes go to the cpu kernel.
import { ClipByValue, util, type ClipByValueAttrs, type KernelConfig, type KernelFunc, type TensorInfo, type UnaryInputs } from "@tensorflow/tfjs-core";
import { clipOp } from "../../kernels/elementwise.js";
import { BACKEND_NAME } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";
import { allFloat32, onCpu, type KernelArgs } from "./MaxPool.js";

export function clipByValue(args: KernelArgs<UnaryInputs, ClipByValueAttrs>): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  const { clipValueMin, clipValueMax } = args.attrs;
  if (!allFloat32(x) || !(clipValueMin <= clipValueMax)) return onCpu(ClipByValue, args);
  const n = util.sizeFromShape(x.shape);
  if (n === 0) return makeTensor(args.backend, x.shape, new Float32Array(0));
  const values = float32Values(args.backend, x, ClipByValue);
  return makeTensor(args.backend, x.shape, runKernelOp(clipOp(values, clipValueMin, clipValueMax, outputArray(args.backend, n))));
}

export const clipByValueConfig: KernelConfig = {
  kernelName: ClipByValue,
  backendName: BACKEND_NAME,
  kernelFunc: clipByValue as unknown as KernelFunc,
};
