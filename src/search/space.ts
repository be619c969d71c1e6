// The space a search explores, declared from parts: each learner's HyperParameters (a global
// value, or one value per layer) become named dimensions. Optimizers see points as values by
// dimension name, and as coordinates in the unit cube when they model the space (GP, DDPG):
// continuous and integer dimensions map linearly (or by log for log-scale ones), a categorical
// one to the middle of its choice's slice of [0, 1]. No tfjs and no learner code here.
import type { HyperParameter } from "../learners/learner.js";

export type DimensionKind = "continuous" | "integer" | "categorical";

export interface Dimension {
  /** Unique in the space: the option, or "option/layer" for a per-layer entry. */
  name: string;
  kind: DimensionKind;
  /** Bounds of continuous and integer dimensions, inclusive. */
  low?: number;
  high?: number;
  /** Sampled and modelled on a log scale (low > 0). */
  log?: boolean;
  choices?: ReadonlyArray<string | number>;
  /** The learner option the dimension sets. */
  option: string;
  /** The node id, for a per-layer dimension. */
  layer?: string;
}

export type Value = number | string;
/** A point of the space: a value for every dimension, by name. */
export type Point = Record<string, Value>;

export interface SearchSpace {
  readonly dimensions: readonly Dimension[];
}

/** Rejects a dimension that cannot be searched, naming it and the rule. */
function checkDimension(dimension: Dimension): void {
  const fail = (rule: string): never => { throw new RangeError(`search space: dimension '${dimension.name}' ${rule}`); };
  if (dimension.kind === "categorical") {
    if (dimension.choices === undefined || dimension.choices.length === 0) fail("is categorical but has no choices");
    return;
  }
  const { low, high, log } = dimension;
  if (!(typeof low === "number" && typeof high === "number" && Number.isFinite(low) && Number.isFinite(high) && low <= high)) {
    fail(`needs finite bounds low <= high, but has [${low}, ${high}]`);
  }
  if (log && !((low as number) > 0)) fail(`is log-scale and needs low > 0, but has low ${low}`);
  if (dimension.kind === "integer" && !(Number.isInteger(low) && Number.isInteger(high))) fail(`is an integer dimension and needs integer bounds, but has [${low}, ${high}]`);
}

/** The space of a list of dimensions, checked. */
export function searchSpace(dimensions: readonly Dimension[]): SearchSpace {
  const names = new Set<string>();
  for (const dimension of dimensions) {
    checkDimension(dimension);
    if (names.has(dimension.name)) throw new RangeError(`search space: dimension '${dimension.name}' is declared twice`);
    names.add(dimension.name);
  }
  if (dimensions.length === 0) throw new RangeError("search space: no dimension to search; the learner declares no search space");
  return { dimensions: [...dimensions] };
}

/** A learner's hyper-parameters as a space: one dimension per global option, one per layer of a per-layer one. */
export function spaceOfHyperParameters(parameters: readonly HyperParameter[], prefix = ""): SearchSpace {
  return searchSpace(parameters.flatMap((parameter): Dimension[] => {
    const { option, kind, low, high, log, choices } = parameter;
    const base = { kind, low, high, log, choices, option: prefix + option };
    if (parameter.perLayer === undefined) return [{ ...base, name: prefix + option }];
    return parameter.perLayer.map((layer) => ({ ...base, name: `${prefix}${option}/${layer}`, layer }));
  }));
}

/**
 * The interval an integer dimension's unit coordinate spans: each integer owns the slice within
 * 0.5 of it (on the log scale for log dimensions), so a uniform u draws every integer alike.
 */
function integerSpan(dimension: Dimension): [number, number] {
  const low = dimension.low as number;
  const high = dimension.high as number;
  if (!dimension.log) return [low - 0.5, high + 0.5];
  return [Math.log(low - 0.5), Math.log(high + 0.5)]; // an integer log dimension has low >= 1
}

/** A dimension's value from a unit coordinate u in [0, 1]. */
export function fromUnit(dimension: Dimension, u: number): Value {
  const t = Math.min(1, Math.max(0, u));
  if (dimension.kind === "categorical") {
    const choices = dimension.choices as ReadonlyArray<Value>;
    return choices[Math.min(choices.length - 1, Math.floor(t * choices.length))];
  }
  const low = dimension.low as number;
  const high = dimension.high as number;
  if (dimension.kind === "integer") {
    const [lo, hi] = integerSpan(dimension);
    const value = dimension.log ? Math.exp(lo + t * (hi - lo)) : lo + t * (hi - lo);
    return Math.min(high, Math.max(low, Math.round(value)));
  }
  // exp(log) can round past a bound (exp(log 1e-4 + log 1e3) = 0.10000000000000006): clamp
  const value = dimension.log ? Math.exp(Math.log(low) + t * (Math.log(high) - Math.log(low))) : low + t * (high - low);
  return Math.min(high, Math.max(low, value));
}

/** The unit coordinate of a dimension's value (the middle of its slice for integers and choices). */
export function toUnit(dimension: Dimension, value: Value): number {
  if (dimension.kind === "categorical") {
    const index = (dimension.choices as ReadonlyArray<Value>).indexOf(value);
    if (index < 0) throw new RangeError(`search space: '${value}' is not a choice of '${dimension.name}' (${dimension.choices?.join(", ")})`);
    return (index + 0.5) / (dimension.choices as ReadonlyArray<Value>).length;
  }
  const low = dimension.low as number;
  const high = dimension.high as number;
  const v = value as number;
  if (dimension.kind === "integer") {
    const [lo, hi] = integerSpan(dimension);
    return ((dimension.log ? Math.log(v) : v) - lo) / (hi - lo);
  }
  if (high === low) return 0.5;
  return dimension.log ? (Math.log(v) - Math.log(low)) / (Math.log(high) - Math.log(low)) : (v - low) / (high - low);
}

/** The point at unit coordinates (one per dimension, in order). */
export const pointFromUnit = (space: SearchSpace, u: readonly number[]): Point =>
  Object.fromEntries(space.dimensions.map((dimension, i) => [dimension.name, fromUnit(dimension, u[i])]));

/** The unit coordinates of a point. */
export const unitOfPoint = (space: SearchSpace, point: Point): number[] => space.dimensions.map((dimension) => {
  const value = point[dimension.name];
  if (value === undefined) throw new RangeError(`search space: the point has no value for '${dimension.name}'`);
  return toUnit(dimension, value);
});

/**
 * The learner options a point sets: a global dimension's value under its option, per-layer ones
 * gathered into a map by node id (`{ ratios: { conv_2: 0.5, ... } }`).
 */
export function optionsOfPoint(space: SearchSpace, point: Point): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const dimension of space.dimensions) {
    const value = point[dimension.name];
    if (dimension.layer === undefined) options[dimension.option] = value;
    else options[dimension.option] = { ...(options[dimension.option] as Record<string, Value> | undefined), [dimension.layer]: value };
  }
  return options;
}

/** The point of learner options (optionsOfPoint's inverse); names the dimension an option lacks. */
export function pointOfOptions(space: SearchSpace, options: Record<string, unknown>): Point {
  const point: Point = {};
  for (const dimension of space.dimensions) {
    const given = options[dimension.option];
    const value = dimension.layer === undefined ? given : (given as Record<string, Value> | undefined)?.[dimension.layer];
    if (value === undefined) throw new RangeError(`search space: the options give no value for '${dimension.name}'`);
    point[dimension.name] = value as Value;
  }
  return point;
}
