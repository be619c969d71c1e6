// The `pocketflow` tfjs backend: tensor storage and every kernel of tfjs's cpu backend, with
// the heavy kernels (convolutions and their gradients, matmul) replaced by our SIMD core.
// Tensors stay plain typed arrays, as in the cpu backend; a replaced kernel copies its
// inputs into the kernels' memory, which costs one memory pass against the O(n·k) compute.
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";

export const BACKEND_NAME = "pocketflow";

export class PocketflowBackend extends MathBackendCPU {
  constructor() {
    super();
    // The cpu backend greets its first tensor in Node with advice to install tfjs-node; on this
    // backend that advice is wrong (and tfjs-node is chosen first when present), so skip it.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }
}
