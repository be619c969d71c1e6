// The `pocketflow` tfjs backend: tensor storage and every kernel of tfjs's cpu backend, with
// the heavy kernels (convolutions and their gradients, matmul) replaced by our SIMD core.
// Tensors are typed arrays, as in the cpu backend. Our kernels' outputs, and any tensor one
// of them has read, live in the kernels' shared memory, where the next kernel reads them
// without a copy (output-arrays.ts).
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

  /**
   * The values of a tensor, for code other than our kernels, which may keep them (a cpu
   * kernel's view, a user's array): values in the kernels' memory are first moved to an
   * ordinary copy, so that freeing and reusing that memory can never change what they see.
   */
  escapedValues(dataId: DataId): unknown {
    const entry = this.data.get(dataId);
    if (entry === undefined) return undefined;
    const values = entry.values;
    if (this.outputs.isResident(values)) {
      entry.values = values.slice();
      this.outputs.release(values);
    }
    return entry.values;
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
