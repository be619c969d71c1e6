// The fp32 model as an engine program. What a graph compiler does before running, and no more:
// batch norms folded into the layer before them (graph/fold-batch-norm.ts); a relu or relu6 read
// alone after a conv, depthwise, dense, add or batch norm fused into its store; a zeroPad2d read
// alone by a 'valid' convolution absorbed as that convolution's explicit padding (Keras
// MobileNets pad before their strided convs); flatten and dropout are names for their input's
// buffer (NHWC flattens in place); a softmax that ends the model is left out unless asked for,
// so the engine returns logits. Pruned weights are zeros in the graph already; shrunk models are
// just smaller graphs.
import { foldBatchNorms } from "../graph/fold-batch-norm.js";
import type { Graph, GraphNode, InputNode } from "../graph/ir.js";
import { readersOf, soleReader } from "../graph/readers.js";
import { inferShapes } from "../graph/shapes.js";
import type { KernelCore } from "../kernels/core.js";
import { addStep, batchNormStep, convStep, depthwiseStep, poolStep, reluStep, type FusedRelu } from "./engine-f32-steps.js";
import { concatenateStep, softmaxStep, zeroPadStep } from "./engine-moves.js";
import type { EngineProgram, EngineStep } from "./engine-step.js";

const FUSES_RELU: ReadonlySet<GraphNode["op"]> = new Set(["conv2d", "depthwiseConv2d", "dense", "add", "batchNorm"]);

/** How the graph is rewritten before its steps are made. */
interface Rewrites {
  /** Node id → the tensor that holds its output (itself unless fused away or an alias). */
  tensorOf: Map<string, string>;
  /** Producer id → the relu it stores through. */
  fusedRelu: Map<string, "relu" | "relu6">;
  /** Convolution id → the zeroPad2d padding it absorbs. */
  absorbedPad: Map<string, [number, number, number, number]>;
  /** Nodes that make no step (fused relus, absorbed pads, aliases, a dropped final softmax). */
  skipped: Set<string>;
}

function rewritesOf(graph: Graph, finalSoftmax: boolean): Rewrites {
  const readers = readersOf(graph);
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  const rewrites: Rewrites = { tensorOf: new Map(), fusedRelu: new Map(), absorbedPad: new Map(), skipped: new Set() };
  const tensor = (id: string): string => rewrites.tensorOf.get(id) ?? id;
  const alias = (node: GraphNode): void => {
    rewrites.tensorOf.set(node.id, tensor(node.inputs[0]));
    rewrites.skipped.add(node.id);
  };
  for (const node of graph.nodes) {
    const reader = soleReader(graph, node.id, readers);
    if (FUSES_RELU.has(node.op) && (reader?.op === "relu" || reader?.op === "relu6")) rewrites.fusedRelu.set(node.id, reader.op);
    const producer = node.inputs.length === 1 ? byId.get(node.inputs[0]) : undefined;
    const fusedInto = (node.op === "relu" || node.op === "relu6") && producer !== undefined && rewrites.fusedRelu.get(producer.id) === node.op;
    const padAbsorbed = node.op === "zeroPad2d" && (reader?.op === "conv2d" || reader?.op === "depthwiseConv2d") && reader.padding === "valid";
    if (padAbsorbed) rewrites.absorbedPad.set(reader.id, node.padding);
    const droppedSoftmax = node.op === "softmax" && !finalSoftmax && graph.outputs.includes(node.id);
    if (fusedInto || padAbsorbed || droppedSoftmax || node.op === "flatten" || node.op === "dropout") alias(node);
  }
  return rewrites;
}

/** The graph (its batch norms folded first) as fp32 steps whose weights live in `core`. */
export function lowerFloat(graph: Graph, core: KernelCore, options: { finalSoftmax: boolean }): EngineProgram {
  const folded = foldBatchNorms(graph);
  const shapes = inferShapes(folded);
  const inputs = folded.nodes.filter((node): node is InputNode => node.op === "input");
  if (inputs.length !== 1) throw new Error(`loadEngine: graph '${graph.name}' must have exactly one input node, but has ${inputs.length}; the engine runs single-input models`);
  const rewrites = rewritesOf(folded, options.finalSoftmax);
  const tensor = (id: string): string => rewrites.tensorOf.get(id) ?? id;
  const shapeOf = (id: string): number[] => shapes.get(id) as number[];
  const steps: EngineStep[] = [];
  for (const node of folded.nodes) {
    if (node.op === "input" || rewrites.skipped.has(node.id)) continue;
    // a convolution that absorbed a pad reads the unpadded tensor; other aliases keep their own shape (flatten's)
    const inShapes = node.inputs.map((id) => shapeOf(rewrites.absorbedPad.has(node.id) ? tensor(id) : id));
    steps.push(floatStep(core, node, node.inputs.map(tensor), inShapes, rewrites));
  }
  return {
    input: { id: inputs[0].id, shape: inputs[0].shape },
    steps,
    outputs: folded.outputs.map((id) => ({ id: tensor(id), shape: shapeOf(id) })),
  };
}

/** The step of one node; its inputs are tensor ids after the rewrites, with their graph shapes. */
function floatStep(core: KernelCore, node: GraphNode, inputs: string[], inShapes: number[][], rewrites: Rewrites): EngineStep {
  const relu: FusedRelu = rewrites.fusedRelu.get(node.id);
  const elements = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
  switch (node.op) {
    case "conv2d":
    case "dense":
      return convStep(core, node, inputs[0], inShapes[0], relu, rewrites.absorbedPad.get(node.id));
    case "depthwiseConv2d":
      return depthwiseStep(core, node, inputs[0], inShapes[0], relu, rewrites.absorbedPad.get(node.id));
    case "maxPool":
    case "avgPool":
      return poolStep(core, node, inputs[0], inShapes[0]);
    case "globalAvgPool":
      return poolStep(core, { op: "globalAvgPool", id: node.id }, inputs[0], inShapes[0]);
    case "add":
      return addStep(core, node.id, inputs, elements(inShapes[0]), relu);
    case "relu":
    case "relu6":
      return reluStep(core, node.id, inputs[0], elements(inShapes[0]), node.op);
    case "batchNorm":
      return batchNormStep(core, node, inputs[0], inShapes[0], relu);
    case "softmax":
      return softmaxStep(core, node.id, inputs[0], inShapes[0]);
    case "zeroPad2d":
      return zeroPadStep(core, node.id, inputs[0], inShapes[0], node.padding, 4, 0);
    case "concatenate": {
      const channels = inShapes.map((shape) => shape[shape.length - 1]);
      return concatenateStep(core, node.id, inputs, channels, elements(inShapes[0]) / channels[0], 4);
    }
    default:
      throw new Error(`loadEngine: op '${node.op}' of node '${node.id}' has no engine step; the engine runs ${[...FUSES_RELU, "pools", "relu", "relu6", "softmax", "zeroPad2d", "concatenate", "flatten", "dropout"].join(", ")}`);
  }
}
