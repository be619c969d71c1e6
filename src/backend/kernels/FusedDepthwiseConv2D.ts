// FusedDepthwiseConv2D: depthwise conv + bias + activation. The SIMD kernel fuses a per-channel
// bias and linear/relu/relu6 (MobileNet's), so those cost no extra pass over the output; any
// other bias shape or activation runs after it through the kernels registered for this backend
// (the cpu ones), in the order tfjs applies them: bias, then activation.
import {
  Add, Elu, FusedDepthwiseConv2D, getKernel, LeakyRelu, Prelu, Relu, Relu6, Sigmoid,
  type FusedDepthwiseConv2DAttrs, type FusedDepthwiseConv2DInputs, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo,
} from "@tensorflow/tfjs-core";
import type { DepthwiseActivation, DepthwiseConv2dOptions } from "../../kernels/depthwise.js";
import { BACKEND_NAME, type PocketflowBackend } from "../backend.js";
import { float32Values } from "../tensor-data.js";
import { runDepthwiseForward } from "./DepthwiseConv2dNative.js";

const FUSED_ACTIVATIONS = new Set<string>(["linear", "relu", "relu6"]);

function runKernel(backend: PocketflowBackend, name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  const config = getKernel(name, BACKEND_NAME);
  if (!config) throw new Error(`${FusedDepthwiseConv2D}: kernel ${name} is not registered for the ${BACKEND_NAME} backend`);
  return config.kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}

/** A bias that adds one value per output channel: shape [C*M] or [1, ..., 1, C*M], rank <= 4. */
function isChannelBias(bias: TensorInfo, channels: number): boolean {
  const shape = bias.shape;
  if (shape.length > 4) return false;
  const size = shape.reduce((p, d) => p * d, 1);
  return size === channels && (shape.length === 0 || shape[shape.length - 1] === channels);
}

function applyActivation(backend: PocketflowBackend, x: TensorInfo, activation: string, attrs: FusedDepthwiseConv2DAttrs, prelu?: TensorInfo): TensorInfo {
  switch (activation) {
    case "relu": return runKernel(backend, Relu, { x });
    case "relu6": return runKernel(backend, Relu6, { x });
    case "elu": return runKernel(backend, Elu, { x });
    case "sigmoid": return runKernel(backend, Sigmoid, { x });
    case "leakyrelu": return runKernel(backend, LeakyRelu, { x }, { alpha: attrs.leakyreluAlpha ?? 0.2 });
    case "prelu":
      if (!prelu) throw new Error(`${FusedDepthwiseConv2D}: activation 'prelu' needs preluActivationWeights`);
      return runKernel(backend, Prelu, { x, alpha: prelu });
    default:
      throw new Error(`${FusedDepthwiseConv2D}: activation must be one of linear, relu, relu6, elu, prelu, leakyrelu, sigmoid, but got '${activation}'`);
  }
}

export function fusedDepthwiseConv2D(args: { inputs: FusedDepthwiseConv2DInputs; backend: PocketflowBackend; attrs: FusedDepthwiseConv2DAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, filter, bias, preluActivationWeights } = inputs;
  const activation: string = attrs.activation ?? "linear";
  const channels = filter.shape[2] * filter.shape[3];
  const fuseBias = bias === undefined || (bias.dtype === "float32" && isChannelBias(bias, channels));
  const fuseActivation = fuseBias && FUSED_ACTIVATIONS.has(activation);
  const options: DepthwiseConv2dOptions = {
    bias: bias && fuseBias ? float32Values(backend, bias, FusedDepthwiseConv2D) : undefined,
    activation: fuseActivation ? (activation as DepthwiseActivation) : "linear",
  };
  let result = runDepthwiseForward(FusedDepthwiseConv2D, backend, x, filter, attrs, options);
  const then = (next: TensorInfo): void => {
    backend.disposeIntermediateTensorInfo(result);
    result = next;
  };
  if (bias && !fuseBias) then(runKernel(backend, Add, { a: result, b: bias }));
  if (!fuseActivation && activation !== "linear") then(applyActivation(backend, result, activation, attrs, preluActivationWeights));
  return result;
}

export const fusedDepthwiseConv2DConfig: KernelConfig = {
  kernelName: FusedDepthwiseConv2D,
  backendName: BACKEND_NAME,
  kernelFunc: fusedDepthwiseConv2D as unknown as KernelFunc,
};
