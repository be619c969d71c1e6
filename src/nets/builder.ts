// A small builder the model zoo shares: it appends IR nodes (src/graph/ir.ts) with unique ids,
// gives every weight a fresh seeded initial value, and knows each node's output shape as it goes
// (by the same inference the rest of the project uses), so a net reads like its paper's table.
//
// Initial values, chosen once for the whole zoo:
// - conv2d and depthwiseConv2d kernels: He-normal (He et al. 2015, "Delving deep into
//   rectifiers"): variance 2 / fanIn, as the ResNet and MobileNet papers train from. Every conv
//   here feeds a ReLU/ReLU6 (through batch-norm where there is one), the case He's rule is derived
//   for. Drawn from a normal truncated at 2 standard deviations and rescaled so the standard
//   deviation is still sqrt(2 / fanIn), as Keras' he_normal does.
//   fanIn is the number of inputs one output sums: kh·kw·inChannels for a conv, kh·kw for a
//   depthwise conv (each output channel reads one input channel). Keras computes the depthwise
//   fanIn as kh·kw·channels, which starts depthwise weights sqrt(channels) times too small.
// - dense kernels: Glorot-uniform (Glorot & Bengio 2010), U(±sqrt(6 / (fanIn + fanOut))), the
//   Keras default; the last dense feeds a softmax, not a ReLU.
// - biases 0; batch-norm gamma 1, beta 0, moving mean 0, moving variance 1 (Keras' defaults).
import type { DenseNode, Graph, GraphNode, WindowPadding, Weight } from "../graph/ir.js";
import { inferShapes } from "../graph/shapes.js";
import { checkInteger, fail } from "../util/check.js";
import { seededRandom } from "../util/random.js";

/** Options every net of the zoo takes. */
export interface NetOptions {
  /** One example's [height, width, channels]. */
  inputShape?: readonly number[];
  /** Classes of the classifier (units of the last dense). */
  classes?: number;
  /** Seed of the initial weights (0 when omitted): the same seed gives the same weights. */
  seed?: number;
}

/** Options of the nets that scale their width (MobileNet's α). */
export interface MobileNetOptions extends NetOptions {
  /** Every layer's channels scaled by this (the papers' α); 1 when omitted. */
  widthMultiplier?: number;
}

/** α checked: a finite number > 0, and >= `min` where smaller would leave a layer no channel; 1 when omitted. */
export function checkWidthMultiplier(where: string, widthMultiplier: number | undefined, min = 0): number {
  const alpha = widthMultiplier ?? 1;
  if (typeof alpha !== "number" || !Number.isFinite(alpha) || alpha <= 0 || alpha < min) {
    fail(where, `widthMultiplier must be a number ${min > 0 ? `>= ${min}` : "> 0"}, but got ${String(alpha)}`);
  }
  return alpha;
}

export type ResolvedNetOptions = Required<NetOptions> & { inputShape: [number, number, number] };

/** The options with the net's defaults filled in, checked: the rule and the value in the error. */
export function resolveNetOptions(where: string, options: NetOptions, defaults: { inputShape: [number, number, number]; classes: number }): ResolvedNetOptions {
  const { inputShape = defaults.inputShape, classes = defaults.classes, seed = 0 } = options;
  const positive = Array.isArray(inputShape) && inputShape.length === 3 && inputShape.every((dim) => Number.isInteger(dim) && dim >= 1);
  if (!positive) fail(where, `inputShape must be [height, width, channels] of positive integers, but got ${JSON.stringify(inputShape)}`);
  checkInteger(where, "classes", classes, 2);
  checkInteger(where, "seed", seed, 0, 0xffffffff);
  return { inputShape: [inputShape[0], inputShape[1], inputShape[2]], classes, seed };
}

/** Keras' truncated normal keeps |z| <= 2; dividing by this restores a unit standard deviation. */
const TRUNCATED_NORMAL_STD = 0.87962566103423978;

/** He-normal values (truncated at 2σ, rescaled): standard deviation sqrt(2 / fanIn). */
export function heNormal(random: () => number, shape: number[], fanIn: number): Weight {
  const values = new Float32Array(shape.reduce((product, dim) => product * dim, 1));
  const scale = Math.sqrt(2 / fanIn) / TRUNCATED_NORMAL_STD;
  for (let i = 0; i < values.length; i++) {
    let z: number;
    do {
      // Box-Muller; 1 - random() lies in (0, 1], so the logarithm is finite.
      z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    } while (Math.abs(z) > 2);
    values[i] = z * scale;
  }
  return { shape, values };
}

/** Glorot-uniform values: U(-limit, limit), limit = sqrt(6 / (fanIn + fanOut)). */
export function glorotUniform(random: () => number, shape: number[], fanIn: number, fanOut: number): Weight {
  const values = new Float32Array(shape.reduce((product, dim) => product * dim, 1));
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  for (let i = 0; i < values.length; i++) values[i] = (2 * random() - 1) * limit;
  return { shape, values };
}

const filled = (length: number, value: number): Weight => ({ shape: [length], values: new Float32Array(length).fill(value) });

export interface ConvOptions {
  filters: number;
  kernelSize: number;
  strides?: number;
  padding?: WindowPadding;
  useBias?: boolean;
}

export interface DepthwiseOptions {
  kernelSize?: number;
  strides?: number;
  padding?: WindowPadding;
}

export type Activation = "relu" | "relu6";

export class GraphBuilder {
  private readonly nodes: GraphNode[] = [];
  private readonly shapes = new Map<string, number[]>();
  private readonly random: () => number;

  /** `where` names the net in errors ("resnet: ..."); `seed` fixes every initial weight. */
  constructor(private readonly where: string, seed: number) {
    this.random = seededRandom(seed);
  }

  /** Output shape of a node appended earlier, without the batch. */
  shapeOf(id: string): number[] {
    const shape = this.shapes.get(id);
    if (shape === undefined) throw new RangeError(`${this.where}: no node '${id}' has been added yet`);
    return shape;
  }

  /** Channels (last axis) of a node's output. */
  channelsOf(id: string): number {
    const shape = this.shapeOf(id);
    return shape[shape.length - 1];
  }

  /**
   * Appends a node after inferring its output shape from its inputs' known shapes, so a bad
   * configuration (an input too small for a 'valid' window) fails where it is built, named.
   */
  private append(node: GraphNode): string {
    if (this.shapes.has(node.id)) throw new RangeError(`${this.where}: node id '${node.id}' is used twice; ids must be unique`);
    const sources = [...new Set(node.inputs)].map((id): GraphNode => ({ op: "input", id, inputs: [], shape: this.shapeOf(id) }));
    const first = this.nodes[0];
    let shape: number[];
    try {
      shape = inferShapes({ name: this.where, nodes: [...sources, node], outputs: [node.id] }).get(node.id) as number[];
    } catch (error) {
      const input = first?.op === "input" ? ` with inputShape [${first.shape.join(",")}]` : "";
      throw new RangeError(`${this.where}${input}: ${(error as Error).message}`);
    }
    this.nodes.push(node);
    this.shapes.set(node.id, shape);
    return node.id;
  }

  input(shape: number[], id = "input"): string {
    return this.append({ op: "input", id, inputs: [], shape: [...shape] });
  }

  conv2d(id: string, input: string, options: ConvOptions): string {
    const { filters, kernelSize: k, strides = 1, padding = "same", useBias = false } = options;
    const inChannels = this.channelsOf(input);
    const kernel = heNormal(this.random, [k, k, inChannels, filters], k * k * inChannels);
    return this.append({
      op: "conv2d", id, inputs: [input], kernelSize: [k, k], strides: [strides, strides], padding, dilation: [1, 1], filters, useBias,
      weights: { kernel, ...(useBias ? { bias: filled(filters, 0) } : {}) },
    });
  }

  /** Depthwise conv with depth multiplier 1 and no bias (a batch-norm always follows in the zoo). */
  depthwiseConv2d(id: string, input: string, options: DepthwiseOptions = {}): string {
    const { kernelSize: k = 3, strides = 1, padding = "same" } = options;
    const channels = this.channelsOf(input);
    return this.append({
      op: "depthwiseConv2d", id, inputs: [input], kernelSize: [k, k], strides: [strides, strides], padding, dilation: [1, 1],
      depthMultiplier: 1, useBias: false, weights: { depthwiseKernel: heNormal(this.random, [k, k, channels, 1], k * k) },
    });
  }

  dense(id: string, input: string, units: number): string {
    const inFeatures = this.channelsOf(input);
    const weights: DenseNode["weights"] = { kernel: glorotUniform(this.random, [inFeatures, units], inFeatures, units), bias: filled(units, 0) };
    return this.append({ op: "dense", id, inputs: [input], units, useBias: true, weights });
  }

  batchNorm(id: string, input: string, epsilon: number): string {
    const channels = this.channelsOf(input);
    const weights = { gamma: filled(channels, 1), beta: filled(channels, 0), movingMean: filled(channels, 0), movingVariance: filled(channels, 1) };
    return this.append({ op: "batchNorm", id, inputs: [input], epsilon, weights });
  }

  /** An op without attributes: activations, the residual add, flatten, global average pooling. */
  plain(op: "relu" | "relu6" | "softmax" | "add" | "flatten" | "globalAvgPool", id: string, ...inputs: string[]): string {
    return this.append({ op, id, inputs });
  }

  maxPool(id: string, input: string, size: number, padding: WindowPadding = "valid"): string {
    return this.append({ op: "maxPool", id, inputs: [input], poolSize: [size, size], strides: [size, size], padding });
  }

  dropout(id: string, input: string, rate: number): string {
    return this.append({ op: "dropout", id, inputs: [input], rate });
  }

  /** batch-norm, then an activation (none for MobileNet-v2's linear bottleneck): '<prefix>_bn', '<prefix>_<activation>'. */
  batchNormActivation(prefix: string, input: string, epsilon: number, activation: Activation | null): string {
    const normalized = this.batchNorm(`${prefix}_bn`, input, epsilon);
    return activation === null ? normalized : this.plain(activation, `${prefix}_${activation}`, normalized);
  }

  /** conv (no bias: the batch-norm's beta is the bias), batch-norm, activation, ids '<prefix>_conv', ... */
  convBatchNorm(prefix: string, input: string, conv: ConvOptions, epsilon: number, activation: Activation | null): string {
    return this.batchNormActivation(prefix, this.conv2d(`${prefix}_conv`, input, { ...conv, useBias: false }), epsilon, activation);
  }

  /** The dense classifier and its separate softmax ('logits', 'probabilities'), as Keras applications end. */
  classifier(input: string, classes: number): string {
    return this.plain("softmax", "probabilities", this.dense("logits", input, classes));
  }

  /** The graph, whose single output is `output` (checked once more as a whole). */
  build(name: string, output: string): Graph {
    const graph: Graph = { name, nodes: [...this.nodes], outputs: [output] };
    inferShapes(graph);
    return graph;
  }
}
