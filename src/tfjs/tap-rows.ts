// How the rows of an activation tap are laid out and gathered from one batch's activations.
// Channel pruning (He et al. 2017) reconstructs a layer's output from its input as Y = X·W,
// where a row of Y is the output vector at one spatial position and the row of X beside it is
// the input patch that position reads: [kh, kw, inChannels] in im2col's (ky, kx, c) order, zeros
// where the window hangs over the padding. So a convolution's input rows are patches; an
// elementwise node's input rows are the input vectors at the same position. No tfjs here.
import type { Conv2DNode, DepthwiseConv2DNode, GraphNode } from "../graph/ir.js";
import { convGeometry } from "../kernels/conv-geometry.js";
import { fail } from "../util/check.js";

const WHERE = "collectActivations";

/** Ops whose output at a position reads their inputs at that position only. */
const POSITIONWISE_OPS: ReadonlySet<string> = new Set(["batchNorm", "relu", "relu6", "add", "dropout"]);

/** The window of a convolution: which input pixels each output position reads. */
export interface PatchWindow {
  kernelHeight: number;
  kernelWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

/** What one tapped node keeps per row, and where its rows come from. */
export interface TapLayout {
  node: GraphNode;
  /** Shape of one image's activation of each input, and of the output (no batch axis). */
  inputMaps: number[][];
  outputMap: number[];
  /** Shape of one row of each input, and of the output. */
  inputRowShapes: number[][];
  outputRowShape: number[];
  /** Present where rows are sampled positions of a convolution: its input rows are patches. */
  window?: PatchWindow;
}

const show = (shape: readonly number[]): string => `[${shape.join(",")}]`;

function patchWindow(node: Conv2DNode | DepthwiseConv2DNode, inputMap: number[]): PatchWindow {
  const [inHeight, inWidth, inChannels] = inputMap;
  const g = convGeometry([1, inHeight, inWidth, inChannels], node.kernelSize, { strides: node.strides, dilations: node.dilation, padding: node.padding });
  return {
    kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth, strideHeight: g.strideHeight, strideWidth: g.strideWidth,
    dilationHeight: g.dilationHeight, dilationWidth: g.dilationWidth, padTop: g.padTop, padLeft: g.padLeft,
  };
}

/** Rows of whole images: a row is one image's activation. */
function wholeImageLayout(node: GraphNode, inputMaps: number[][], outputMap: number[]): TapLayout {
  return { node, inputMaps, outputMap, inputRowShapes: inputMaps, outputRowShape: outputMap };
}

/**
 * Rows of sampled positions: the output vector at a position, and beside it the input patch of
 * a convolution or the input vectors at that position of a positionwise node. Other nodes have
 * no such row, and are an error that names the node and the fix.
 */
function positionLayout(node: GraphNode, inputMaps: number[][], outputMap: number[], positionsPerImage: number): TapLayout {
  const isConv = node.op === "conv2d" || node.op === "depthwiseConv2d";
  if (!isConv && !POSITIONWISE_OPS.has(node.op)) {
    fail(WHERE, `node '${node.id}' is a ${node.op}; positionsPerImage takes conv2d, depthwiseConv2d and positionwise nodes (${[...POSITIONWISE_OPS].join(", ")}): tap it without positionsPerImage`);
  }
  if (outputMap.length !== 3 || inputMaps.some((map) => map.length !== 3)) {
    fail(WHERE, `node '${node.id}' maps ${inputMaps.map(show).join(" + ")} to ${show(outputMap)}; positionsPerImage needs [height,width,channels] feature maps: tap it without positionsPerImage`);
  }
  const [height, width, channels] = outputMap;
  if (positionsPerImage > height * width) {
    fail(WHERE, `positionsPerImage must be at most the ${height}×${width} = ${height * width} output positions of node '${node.id}', but got ${positionsPerImage}; lower it`);
  }
  if (isConv) {
    const window = patchWindow(node, inputMaps[0]);
    return { node, inputMaps, outputMap, inputRowShapes: [[window.kernelHeight, window.kernelWidth, inputMaps[0][2]]], outputRowShape: [channels], window };
  }
  return { node, inputMaps, outputMap, inputRowShapes: inputMaps.map((map) => [map[2]]), outputRowShape: [channels] };
}

/** The layout of a tapped node, from its own and its inputs' shapes (one image, no batch axis). */
export function tapLayout(node: GraphNode, inputMaps: number[][], outputMap: number[], positionsPerImage?: number): TapLayout {
  return positionsPerImage === undefined ? wholeImageLayout(node, inputMaps, outputMap) : positionLayout(node, inputMaps, outputMap, positionsPerImage);
}

/**
 * `count` distinct positions of a height × width map, each drawn uniformly (a partial
 * Fisher-Yates shuffle of `order`, which must hold height·width entries), as (y, x) pairs into
 * `out` from `outOffset`.
 */
export function samplePositions(random: () => number, height: number, width: number, count: number, order: Int32Array, out: Int32Array, outOffset: number): void {
  const total = height * width;
  for (let i = 0; i < total; i++) order[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (total - i));
    const picked = order[j];
    order[j] = order[i];
    order[i] = picked;
    out[outOffset + 2 * i] = Math.floor(picked / width);
    out[outOffset + 2 * i + 1] = picked % width;
  }
}

/**
 * The input patch that output position (outY, outX) of image `image` reads, in im2col's
 * (ky, kx, c) order, written to `out` from `outOffset`; zeros where the window is off the input.
 */
export function gatherPatch(input: Float32Array, inputMap: readonly number[], image: number, window: PatchWindow, outY: number, outX: number, out: Float32Array, outOffset: number): void {
  const [height, width, channels] = inputMap;
  const w = window;
  const imageStart = image * height * width * channels;
  let at = outOffset;
  for (let ky = 0; ky < w.kernelHeight; ky++) {
    const y = outY * w.strideHeight - w.padTop + ky * w.dilationHeight;
    for (let kx = 0; kx < w.kernelWidth; kx++) {
      const x = outX * w.strideWidth - w.padLeft + kx * w.dilationWidth;
      if (y >= 0 && y < height && x >= 0 && x < width) {
        const from = imageStart + (y * width + x) * channels;
        out.set(input.subarray(from, from + channels), at);
      } else {
        out.fill(0, at, at + channels);
      }
      at += channels;
    }
  }
}

/** The channel vector at (y, x) of image `image` of a [height, width, channels] map, written to `out` from `outOffset`. */
export function gatherVector(map: Float32Array, mapShape: readonly number[], image: number, y: number, x: number, out: Float32Array, outOffset: number): void {
  const [height, width, channels] = mapShape;
  const from = ((image * height + y) * width + x) * channels;
  out.set(map.subarray(from, from + channels), outOffset);
}
