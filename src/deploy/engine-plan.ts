// Buffer planning for the engine: every tensor of one batch size gets a fixed offset in one arena,
// chosen once, so that a call to run() allocates nothing. Two tensors share bytes only when their
// lifetimes (from the step that writes one to the last step that reads it) do not overlap. The
// offsets are the greedy "largest first, lowest free offset" placement of TFLite's arena planner:
// not optimal, but within a few percent of the peak live size on chains and residual nets.
import { ALIGN } from "../kernels/allocator.js";

/** One tensor to place: its bytes and the steps [first, last] during which it must hold. */
export interface TensorLifetime {
  id: string;
  bytes: number;
  /** Index of the step that writes it (-1: written before the first step, the input). */
  first: number;
  /** Index of the last step that reads it (the step count for the outputs, read after the last step). */
  last: number;
}

export interface ArenaPlan {
  /** Byte offset of each tensor in the arena, a multiple of ALIGN (v128 loads stay aligned). */
  offsets: Map<string, number>;
  /** Bytes the arena must have. */
  totalBytes: number;
}

const alignUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

const overlaps = (a: TensorLifetime, b: TensorLifetime): boolean => a.first <= b.last && b.first <= a.last;

/** Offsets for the tensors, largest first, each at the lowest offset free over its lifetime. */
export function planArena(tensors: readonly TensorLifetime[]): ArenaPlan {
  const order = [...tensors].sort((a, b) => b.bytes - a.bytes || a.first - b.first);
  const placed: Array<{ tensor: TensorLifetime; offset: number; end: number }> = [];
  const offsets = new Map<string, number>();
  let totalBytes = 0;
  for (const tensor of order) {
    const size = alignUp(Math.max(tensor.bytes, 1));
    const busy = placed.filter((p) => overlaps(p.tensor, tensor)).sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const block of busy) {
      if (block.offset - offset >= size) break;
      offset = Math.max(offset, block.end);
    }
    placed.push({ tensor, offset, end: offset + size });
    offsets.set(tensor.id, offset);
    totalBytes = Math.max(totalBytes, offset + size);
  }
  return { offsets, totalBytes };
}

/** The tensors' lifetimes from who writes and who reads them, in step order. */
export function lifetimesOf(
  steps: ReadonlyArray<{ output: string; inputs: readonly string[]; outputBytes: number }>,
  input: { id: string; bytes: number },
  outputs: readonly string[],
): TensorLifetime[] {
  const byId = new Map<string, TensorLifetime>([[input.id, { ...input, first: -1, last: -1 }]]);
  steps.forEach((step, index) => {
    for (const id of step.inputs) {
      const tensor = byId.get(id);
      if (tensor === undefined) throw new Error(`engine plan: step ${index} ('${step.output}') reads '${id}', which no earlier step writes`);
      tensor.last = index;
    }
    byId.set(step.output, { id: step.output, bytes: step.outputBytes, first: index, last: index });
  });
  for (const id of outputs) {
    const tensor = byId.get(id);
    if (tensor === undefined) throw new Error(`engine plan: output '${id}' is written by no step`);
    tensor.last = steps.length;
  }
  return [...byId.values()];
}
