// Argument checks at the public entry points. Each message names the function, the rule and
// the value, and what to do about it.

export function fail(where: string, message: string): never {
  throw new RangeError(`${where}: ${message}`);
}

export function checkInteger(where: string, name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
    fail(where, `${name} must be an integer ${range}, but got ${value}`);
  }
}

export function checkLength(where: string, name: string, actual: number, expected: number): void {
  if (actual !== expected) fail(where, `${name} must have ${expected} elements, but has ${actual}`);
}

export function checkNoNaN(where: string, nanCount: number, name = "input"): void {
  if (nanCount > 0) {
    fail(where, `${name} contains ${nanCount} NaN value${nanCount === 1 ? "" : "s"}; NaN has no quantized value, replace or remove them first`);
  }
}

/** Fails unless `array` (when given) holds exactly the elements of `shape`. */
export function checkSize(where: string, name: string, array: { length: number } | undefined, shape: number[]): void {
  const expected = shape.reduce((p, d) => p * d, 1);
  if (array && array.length !== expected) fail(where, `${name} must hold [${shape.join(", ")}] (${expected} elements), but has ${array.length}`);
}
