// FusedConv2D on the SIMD core: the conv, then bias and activation applied while the result
// is copied out of kernel memory. Bias and prelu weights that broadcast per output channel
// (or as one value) are fused; any other broadcast is applied after the conv with the cpu
// backend's kernels, exactly as the cpu FusedConv2D does.
import {
  FusedConv2D, getKernel, util, type FusedConv2DAttrs, type FusedConv2DInputs, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo,
} from "@tensorflow/tfjs-core";
import { ACTIVATIONS, conv2dForwardOp, type Activation, type Epilogue } from "../../kernels/conv2d.js";
import { BACKEND_NAME, type PocketflowBackend } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";
import { convGeometryOf, forwardConvInfo, preparedForwardFilter } from "./Conv2D.js";

/** What tfjs's fused ops pass after the product: inputs bias/preluActivationWeights and attrs. */
export interface FusedTail {
  bias?: TensorInfo;
  preluActivationWeights?: TensorInfo;
  activation?: string;
  leakyreluAlpha?: number;
}

/**
 * The tail of a fused op, picked from its inputs and attrs field by field (spreading tfjs's
 * inputs object instead cost ~10 µs a call).
 */
export function fusedTail(
  inputs: { bias?: unknown; preluActivationWeights?: unknown },
  attrs: { activation?: string; leakyreluAlpha?: number },
): FusedTail {
  return {
    bias: inputs.bias as TensorInfo | undefined,
    preluActivationWeights: inputs.preluActivationWeights as TensorInfo | undefined,
    activation: attrs.activation,
    leakyreluAlpha: attrs.leakyreluAlpha,
  };
}

function checkActivation(kernel: string, activation: string): Activation {
  if (!(ACTIVATIONS as readonly string[]).includes(activation)) {
    throw new Error(`${kernel}: activation must be one of ${ACTIVATIONS.join(", ")}, but got '${activation}'`);
  }
  return activation as Activation;
}

/** True when a tensor of `shape` broadcasts onto [..., channels] as one value per channel or one value. */
function broadcastsPerChannel(shape: readonly number[], channels: number, outRank: number): boolean {
  if (shape.length > outRank) return false;
  const size = shape.reduce((p, d) => p * d, 1);
  const leadingOnes = shape.slice(0, -1).every((d) => d === 1);
  return size === 1 || (leadingOnes && shape[shape.length - 1] === channels);
}

/** The epilogue our kernels apply, or undefined when a broadcast needs the cpu path. */
export function fusedEpilogue(backend: PocketflowBackend, kernel: string, tail: FusedTail, outShape: readonly number[]): Epilogue | undefined {
  const activation = checkActivation(kernel, tail.activation ?? "linear");
  const channels = outShape[outShape.length - 1];
  const { bias, preluActivationWeights: prelu } = tail;
  if (bias && !broadcastsPerChannel(bias.shape, channels, outShape.length)) return undefined;
  if (activation === "prelu") {
    if (!prelu) throw new Error(`${kernel}: activation 'prelu' needs the preluActivationWeights input`);
    if (!broadcastsPerChannel(prelu.shape, channels, outShape.length)) return undefined;
  }
  return {
    bias: bias && float32Values(backend, bias, kernel),
    activation,
    leakyreluAlpha: tail.leakyreluAlpha ?? 0.2,
    preluWeights: activation === "prelu" && prelu ? float32Values(backend, prelu, kernel) : undefined,
  };
}

function runCpuKernel(backend: PocketflowBackend, name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  const config = getKernel(name, BACKEND_NAME);
  if (!config) throw new Error(`the pocketflow backend has no ${name} kernel; register it with registerPocketflowBackend()`);
  return config.kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}

const ACTIVATION_KERNELS: Record<Activation, string> = {
  linear: "Identity", relu: "Relu", relu6: "Relu6", elu: "Elu", leakyrelu: "LeakyRelu", prelu: "Prelu", sigmoid: "Sigmoid",
};

/** result + bias, then the activation, with the cpu kernels; disposes the intermediates and `result`. */
export function applyTailWithCpuKernels(backend: PocketflowBackend, kernel: string, result: TensorInfo, tail: FusedTail): TensorInfo {
  const activation = checkActivation(kernel, tail.activation ?? "linear");
  let current = result;
  if (tail.bias) {
    current = runCpuKernel(backend, "Add", { a: result, b: tail.bias });
    backend.disposeIntermediateTensorInfo(result);
  }
  const before = current;
  const inputs: Record<string, TensorInfo> = { x: current };
  if (activation === "prelu" && tail.preluActivationWeights) inputs.alpha = tail.preluActivationWeights;
  current = runCpuKernel(backend, ACTIVATION_KERNELS[activation], inputs, activation === "leakyrelu" ? { alpha: tail.leakyreluAlpha ?? 0.2 } : {});
  backend.disposeIntermediateTensorInfo(before);
  return current;
}

export function fusedConv2D(args: { inputs: FusedConv2DInputs; backend: PocketflowBackend; attrs: FusedConv2DAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const info = forwardConvInfo("FusedConv2D", x, filter, attrs);
  const tail = fusedTail(inputs, attrs);
  const epilogue = fusedEpilogue(backend, "FusedConv2D", tail, info.outShape);
  const g = convGeometryOf(info);
  const w = float32Values(backend, filter, "FusedConv2D");
  const y = runKernelOp(conv2dForwardOp(
    float32Values(backend, x, "FusedConv2D"), w, g, info.outChannels, epilogue,
    outputArray(backend, util.sizeFromShape(info.outShape)), {}, preparedForwardFilter(backend, w, g, info.outChannels),
  ));
  const result = makeTensor(backend, info.outShape, y);
  return epilogue ? result : applyTailWithCpuKernels(backend, "FusedConv2D", result, tail);
}

export const fusedConv2DConfig: KernelConfig = {
  kernelName: FusedConv2D,
  backendName: BACKEND_NAME,
  kernelFunc: fusedConv2D as unknown as KernelFunc,
};
