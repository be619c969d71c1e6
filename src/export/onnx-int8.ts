import type { CompressedModel } from "../graph/compressed-model.js";
export const isInt8Model = (_model: CompressedModel): boolean => false;
export function exportOnnxInt8(_model: CompressedModel, _flavor: "qdq" | "qoperator"): Uint8Array { throw new Error("todo"); }
