// The one place that maps IR weight names to tfjs's: a node's weight `kernel` of node 'conv1' is
// the tfjs variable 'conv1/kernel', its `depthwiseKernel` is '.../depthwise_kernel'. Learners
// key masks, quantization and gradient rewrites by IR names; the trainer sees tfjs names.

/** tfjs weight names (the last part of a LayerVariable's name) and the IR's names for them. */
const IR_BY_TFJS: Record<string, string> = {
  kernel: "kernel", bias: "bias", depthwise_kernel: "depthwiseKernel",
  gamma: "gamma", beta: "beta", moving_mean: "movingMean", moving_variance: "movingVariance",
};

const TFJS_BY_IR: Record<string, string> = Object.fromEntries(Object.entries(IR_BY_TFJS).map(([tfjs, ir]) => [ir, tfjs]));

/** The IR name of a tfjs weight name ('depthwise_kernel' → 'depthwiseKernel'); unknown names pass as they are. */
export const irWeightName = (tfjsName: string): string => IR_BY_TFJS[tfjsName] ?? tfjsName;

/** The trainer's parameter name of a node's IR weight: 'conv1' + 'depthwiseKernel' → 'conv1/depthwise_kernel'. */
export function parameterName(nodeId: string, irWeight: string): string {
  const tfjs = TFJS_BY_IR[irWeight];
  if (tfjs === undefined) throw new Error(`'${irWeight}' is no IR weight name (known: ${Object.keys(TFJS_BY_IR).join(", ")})`);
  return `${nodeId}/${tfjs}`;
}

/** The node id and IR weight name of a trainer parameter name ('conv1/kernel'), split at its last '/'. */
export function irWeightOfParameter(name: string): { nodeId: string; weight: string } {
  const cut = name.lastIndexOf("/");
  return { nodeId: name.slice(0, cut), weight: irWeightName(name.slice(cut + 1)) };
}
