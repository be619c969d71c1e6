// The `pocketflow` tfjs backend: tensor storage and every kernel of tfjs's cpu backend, with
// the heavy kernels (convolutions and their gradients, matmul) replaced by our SIMD core.
// Tensors stay plain typed arrays, as in the cpu backend; a replaced kernel copies its
// inputs into the kernels' memory, which costs one memory pass against the O(n·k) compute.
// Outputs of our kernels reuse the arrays of disposed tensors (output-arrays.ts).
import type { DataId } from "@tensorflow/tfjs-core";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { OutputArrays } from "./output-arrays.js";

export const BACKEND_NAME = "pocketflow";

export class PocketflowBackend extends MathBackendCPU {
  readonly outputs = new OutputArrays();

  constructor() {
    super();
    // The cpu backend greets its first tensor in Node with advice to install tfjs-node; on this
    // backend that advice is wrong (and tfjs-node is chosen first when present), so skip it.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** The values of a tensor, for code other than our kernels: they may be kept, so never reused. */
  escapedValues(dataId: DataId): unknown {
    const values = this.data.get(dataId)?.values;
    this.outputs.escape(values);
    return values;
  }

  override readSync(dataId: DataId): ReturnType<MathBackendCPU["readSync"]> {
    if (this.data.has(dataId)) this.escapedValues(dataId);
    return super.readSync(dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const disposed = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) this.outputs.release(values);
    return disposed;
  }
}
