// A weight that is NaN or infinite makes every prediction NaN: accuracy falls to chance with a
// NaN loss, and fine-tuning diverges at once. Such a model is corrupt, whatever produced it, so
// it is refused where it enters, naming the weight, rather than blamed later on the data or the
// learning rate.
import { weightsOf, type Graph } from "./ir.js";

/** How many values of `values` are NaN and infinite, and the index of the first of either. */
function nonFiniteCounts(values: Float32Array): { nan: number; infinite: number; first: number } {
  let nan = 0;
  let infinite = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (Number.isFinite(value)) continue;
    if (Number.isNaN(value)) nan++;
    else infinite++;
    if (first < 0) first = i;
  }
  return { nan, infinite, first };
}

/** Fails on the first weight holding NaN or infinite values, naming the layer, the weight and the index. */
export function checkFiniteWeights(graph: Graph): void {
  for (const node of graph.nodes) {
    for (const [name, weight] of weightsOf(node)) {
      const { nan, infinite, first } = nonFiniteCounts(weight.values);
      if (first < 0) continue;
      const what = [nan > 0 ? `${nan} NaN` : "", infinite > 0 ? `${infinite} infinite` : ""].filter((part) => part !== "").join(" and ");
      throw new Error(`layer '${node.id}' weight '${name}' holds ${what} values (first at index ${first}); the model is corrupt, retrain or re-export it`);
    }
  }
}
