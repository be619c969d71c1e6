// An integer model (deploy/int8-model.ts) as an engine program: the float input quantized with
// the input node's parameters, every layer in uint8/int8/int32 (engine-int8-steps.ts), the
// outputs dequantized to float (a softmax that ends the model runs in float on them when asked
// for). The rewrites are the fp32 lowering's, as the contract fixes them: a relu/relu6 read alone
// after a conv, depthwise, dense or add is that layer's clamp, on the relu's parameters; a pad read
// alone by a 'valid' convolution is its explicit padding (the integer convolutions pad with the
// zero point); flatten and dropout are their input's bytes. 3×3 stride-1 convolutions run as
// exact integer Winograd F(2×2, 3×3), every other conv and dense layer as the direct 8-bit GEMM.
import type { CompressedModel } from "../graph/compressed-model.js";
import type { GraphNode, InputNode } from "../graph/ir.js";
import { readersOf, soleReader } from "../graph/readers.js";
import { inferShapes } from "../graph/shapes.js";
import type { KernelCore } from "../kernels/core.js";
import {
  addQ8Step, concatenateQ8Step, convQ8Step, convQ8Geometry, winogradQ8Applies, winogradQ8Step, dequantizeStep, depthwiseQ8Step, lookupStep, poolQ8Step, quantizeInputStep, rescaleTable, type FusedRelu,
} from "./engine-int8-steps.js";
import { softmaxStep, zeroPadStep } from "./engine-moves.js";
import type { EngineProgram, EngineStep } from "./engine-step.js";
import { activationParams, checkInt8Model, fusedActivations, weightQuantizationOf, type ActivationParams } from "./int8-model.js";

/** Suffix of the engine's own float tensors (the float input, dequantized outputs). */
const FLOAT = "#f32";

/** The integer model as int8 steps whose constants live in `core`; checks the contract first. */
export function lowerInt8(model: CompressedModel, core: KernelCore, options: { finalSoftmax: boolean }): EngineProgram {
  checkInt8Model(model);
  const { graph } = model;
  const shapes = inferShapes(graph);
  const readers = readersOf(graph);
  const fused = fusedActivations(graph);
  const inputs = graph.nodes.filter((node): node is InputNode => node.op === "input");
  if (inputs.length !== 1) throw new Error(`loadEngine: graph '${graph.name}' must have exactly one input node, but has ${inputs.length}; the engine runs single-input models`);
  const tensorOf = new Map<string, string>();
  const tensor = (id: string): string => tensorOf.get(id) ?? id;
  const paramsOf = (id: string): ActivationParams => activationParams(model, id, fused);
  const absorbedPad = new Map<string, [number, number, number, number]>();
  const size = (id: string): number => (shapes.get(id) as number[]).reduce((a, b) => a * b, 1);
  const input = inputs[0];
  const steps: EngineStep[] = [quantizeInputStep(core, input.id, input.id + FLOAT, size(input.id), paramsOf(input.id))];
  for (const node of graph.nodes) {
    if (node.op === "input") continue;
    const producer = node.inputs[0];
    const reader = soleReader(graph, node.id, readers);
    const fusedInto = (node.op === "relu" || node.op === "relu6") && fused.get(producer)?.id === node.id;
    const padAbsorbed = node.op === "zeroPad2d" && (reader?.op === "conv2d" || reader?.op === "depthwiseConv2d") && reader.padding === "valid";
    if (padAbsorbed) absorbedPad.set((reader as GraphNode).id, node.padding);
    const finalSoftmax = node.op === "softmax";
    if (fusedInto || padAbsorbed || finalSoftmax || node.op === "flatten" || node.op === "dropout") {
      tensorOf.set(node.id, tensor(producer));
      continue;
    }
    const inShapes = node.inputs.map((id) => shapes.get(absorbedPad.has(node.id) ? tensor(id) : id) as number[]);
    const relu = fused.get(node.id)?.op as FusedRelu;
    steps.push(int8Step(core, model, node, node.inputs.map(tensor), inShapes, { paramsOf, relu, pad: absorbedPad.get(node.id), size }));
  }
  return { input: { id: input.id + FLOAT, shape: input.shape }, ...outputSteps(core, model, steps, tensor, paramsOf, size, options.finalSoftmax) };
}

/** The dequantize (and final softmax) steps, after the model's steps. */
function outputSteps(
  core: KernelCore, model: CompressedModel, steps: EngineStep[], tensor: (id: string) => string, paramsOf: (id: string) => ActivationParams,
  size: (id: string) => number, finalSoftmax: boolean,
): Pick<EngineProgram, "steps" | "outputs"> {
  const shapes = inferShapes(model.graph);
  const byId = new Map(model.graph.nodes.map((node) => [node.id, node]));
  const outputs = model.graph.outputs.map((id) => {
    const node = byId.get(id) as GraphNode;
    const source = node.op === "softmax" ? node.inputs[0] : id;
    const logits = tensor(source) + FLOAT;
    if (!steps.some((step) => step.output === logits)) steps.push(dequantizeStep(core, logits, tensor(source), size(source), paramsOf(source)));
    if (node.op !== "softmax" || !finalSoftmax) return { id: logits, shape: shapes.get(id) as number[] };
    steps.push(softmaxStep(core, id + FLOAT, logits, shapes.get(id) as number[]));
    return { id: id + FLOAT, shape: shapes.get(id) as number[] };
  });
  return { steps, outputs };
}

interface StepContext {
  paramsOf: (id: string) => ActivationParams;
  relu: FusedRelu;
  pad?: [number, number, number, number];
  size: (id: string) => number;
}

function int8Step(core: KernelCore, model: CompressedModel, node: GraphNode, inputs: string[], inShapes: number[][], context: StepContext): EngineStep {
  const { paramsOf, relu, pad, size } = context;
  const params = { input: paramsOf(node.inputs[0]), output: paramsOf(node.id) };
  switch (node.op) {
    case "conv2d":
      if (winogradQ8Applies(convQ8Geometry(node, inShapes[0], 1, pad))) {
        return winogradQ8Step(core, node, inputs[0], inShapes[0], params, weightQuantizationOf(model, node).scales, relu, pad);
      }
      return convQ8Step(core, node, inputs[0], inShapes[0], params, weightQuantizationOf(model, node).scales, relu, pad);
    case "dense":
      return convQ8Step(core, node, inputs[0], inShapes[0], params, weightQuantizationOf(model, node).scales, relu, pad);
    case "depthwiseConv2d":
      return depthwiseQ8Step(core, node, inputs[0], inShapes[0], params, weightQuantizationOf(model, node).scales, relu, pad);
    case "maxPool":
    case "avgPool":
      return poolQ8Step(core, node, inputs[0], inShapes[0], params);
    case "globalAvgPool":
      return poolQ8Step(core, { op: "globalAvgPool", id: node.id }, inputs[0], inShapes[0], params);
    case "add": {
      if (inputs.length !== 2) throw new Error(`loadEngine: int8 add '${node.id}' has ${inputs.length} inputs; the integer add takes 2 (chain adds of more)`);
      return addQ8Step(core, node.id, [inputs[0], inputs[1]], size(node.id), [paramsOf(node.inputs[0]), paramsOf(node.inputs[1])], params.output, relu);
    }
    case "relu":
    case "relu6":
      return lookupStep(core, node.id, inputs[0], size(node.id), rescaleTable(params.input, params.output, node.op));
    case "zeroPad2d":
      return zeroPadStep(core, node.id, inputs[0], inShapes[0], node.padding, 1, params.input.zeroPoint);
    case "concatenate": {
      const channels = inShapes.map((shape) => shape[shape.length - 1]);
      const tables = node.inputs.map((id) => rescaleTable(paramsOf(id), params.output, undefined));
      return concatenateQ8Step(core, node.id, inputs, channels, size(node.inputs[0]) / channels[0], tables);
    }
    default:
      throw new Error(`loadEngine: op '${node.op}' of node '${node.id}' has no int8 step; integer models hold conv2d, depthwiseConv2d, dense, add, pools, relu, relu6, zeroPad2d, concatenate, flatten, dropout and a final softmax`);
  }
}
