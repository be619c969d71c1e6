// Splitting a range of work into contiguous parts, one per thread.

/** Even split of `count` units into at most `parts` contiguous [start, end) ranges. */
export function splitCount(count: number, parts: number): Array<[number, number]> {
  const n = Math.max(1, Math.min(parts, count));
  const ranges: Array<[number, number]> = [];
  for (let p = 0; p < n; p++) {
    const start = Math.floor((p * count) / n);
    const end = Math.floor(((p + 1) * count) / n);
    if (end > start) ranges.push([start, end]);
  }
  return ranges;
}
