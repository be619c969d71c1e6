// How per-group parameters (scales, zero points, statistics) map onto a flat tensor.
// Element i uses group (firstGroup + floor(i / inner)) % groups, which covers per tensor
// (groups = 1), per channel along any axis, and PocketFlow's buckets of N consecutive weights.
import { checkInteger, fail } from "../util/check.js";

export interface Grouping {
  /** Consecutive elements that share one parameter set (1 when the channel is the last axis). */
  readonly inner: number;
  /** Number of parameter sets. */
  readonly groups: number;
}

export const perTensor = (): Grouping => ({ inner: 1, groups: 1 });

/** Per channel along `axis` of `shape` (default the last axis: tfjs conv/dense output channels). */
export function perChannel(shape: readonly number[], axis = -1): Grouping {
  const a = axis < 0 ? shape.length + axis : axis;
  if (!Number.isInteger(a) || a < 0 || a >= shape.length) {
    fail("perChannel", `axis must be in -${shape.length}..${shape.length - 1} for shape [${shape}], but got ${axis}`);
  }
  const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
  return { inner, groups: shape[a] };
}

/** Buckets of `bucketSize` consecutive elements of an n-element tensor; the last may be partial. */
export function perBucket(n: number, bucketSize: number): Grouping {
  checkInteger("perBucket", "bucketSize", bucketSize, 1);
  return { inner: bucketSize, groups: Math.max(1, Math.ceil(n / bucketSize)) };
}

export function checkGrouping(where: string, n: number, grouping: Grouping): void {
  const { inner, groups } = grouping;
  checkInteger(where, "grouping.inner", inner, 1);
  checkInteger(where, "grouping.groups", groups, 1);
  if (groups === 1) return;
  const fits = inner === 1 ? n % groups === 0 : n % (inner * groups) === 0 || Math.ceil(n / inner) === groups;
  if (!fits) {
    fail(where, `${n} elements do not split into ${groups} groups of ${inner} consecutive elements; ` +
      "build the grouping with perTensor(), perChannel(shape, axis) or perBucket(n, size) for this tensor");
  }
}

/** Group index of element i. */
export const groupOf = (i: number, grouping: Grouping): number =>
  grouping.groups === 1 ? 0 : Math.floor(i / grouping.inner) % grouping.groups;
