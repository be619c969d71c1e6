// How far a computed array is from its reference, as a relative error that means what it says.
// |a − b| / |b| is the relative error where |b| is a fair scale for the rounding in b. Near zero
// it is not: a sum of many terms that cancels to ~0 still carries the rounding of its terms. So
// below an explicit absolute floor the error is measured against the floor instead:
//   maxRelativeError(a, b, floor) <= rtol  ⇔  |a − b| <= rtol · max(|b|, floor) for every element.

/** Share of the largest |value| below which a value counts as near zero, unless a caller knows better. */
export const NEAR_ZERO_FRACTION = 0.1;

/**
 * `fraction` of the largest |value| in the arrays (never 0): the scale of the terms that make up
 * values of that size, so the scale of their rounding.
 */
export function floorOf(values: ArrayLike<number> | readonly ArrayLike<number>[], fraction = NEAR_ZERO_FRACTION): number {
  let largest = 0;
  for (const array of ArrayBuffer.isView(values) ? [values as ArrayLike<number>] : (values as readonly ArrayLike<number>[])) {
    for (let i = 0; i < array.length; i++) largest = Math.max(largest, Math.abs(array[i]));
  }
  return Math.max(fraction * largest, Number.MIN_VALUE);
}

/**
 * Largest |a − b| / max(|b|, absoluteFloor) over all elements; NaN counts as infinitely wrong.
 * The floor defaults to a tenth of the largest |expected| (floorOf); pass the terms' scale where
 * a whole output cancels to ~0 (a gradient that is zero in exact arithmetic).
 */
export function maxRelativeError(actual: Float32Array, expected: Float32Array, absoluteFloor = floorOf(expected)): number {
  if (actual.length !== expected.length) throw new Error(`maxRelativeError: length ${actual.length} vs ${expected.length}`);
  if (!(absoluteFloor > 0)) throw new Error(`maxRelativeError: absoluteFloor must be > 0, but got ${absoluteFloor}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const difference = Math.abs(actual[i] - expected[i]);
    const error = difference === 0 ? 0 : difference / Math.max(absoluteFloor, Math.abs(expected[i]));
    if (!(error <= worst)) worst = Number.isNaN(error) ? Infinity : error;
  }
  return worst;
}
