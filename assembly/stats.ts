// Min/max statistics per group (grouping as in quantize.ts). Results are merged into
// mins[g]/maxs[g], which the caller initialises to +Inf/-Inf, so partial ranges computed by
// several workers into separate slots can be combined afterwards. NaNs are skipped (pmin/pmax
// never select a NaN operand here) and counted.

function minMaxRun(x: usize, n: i32, slotMin: usize, slotMax: usize): i32 {
  let vmin = f32x4.splat(load<f32>(slotMin));
  let vmax = f32x4.splat(load<f32>(slotMax));
  let vmin2 = vmin;
  let vmax2 = vmax;
  let nan = i32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = x + (<usize>i << 2);
    const a = v128.load(p);
    const b = v128.load(p, 16);
    // pmin(acc, v) = v < acc ? v : acc: a NaN in v never replaces acc
    vmin = f32x4.pmin(vmin, a);
    vmax = f32x4.pmax(vmax, a);
    vmin2 = f32x4.pmin(vmin2, b);
    vmax2 = f32x4.pmax(vmax2, b);
    nan = i32x4.sub(nan, v128.or(f32x4.ne(a, a), f32x4.ne(b, b)));
  }
  vmin = f32x4.pmin(vmin, vmin2);
  vmax = f32x4.pmax(vmax, vmax2);
  let lo = min(min(f32x4.extract_lane(vmin, 0), f32x4.extract_lane(vmin, 1)), min(f32x4.extract_lane(vmin, 2), f32x4.extract_lane(vmin, 3)));
  let hi = max(max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)), max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
  let count = i32x4.extract_lane(nan, 0) + i32x4.extract_lane(nan, 1) + i32x4.extract_lane(nan, 2) + i32x4.extract_lane(nan, 3);
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (v != v) {
      count++;
      continue;
    }
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  store<f32>(slotMin, lo);
  store<f32>(slotMax, hi);
  return count;
}

function minMaxRows(x: usize, n: i32, groups: i32, mins: usize, maxs: usize): i32 {
  let count = 0;
  for (let row = 0; row < n; row += groups) {
    const xr = x + (<usize>row << 2);
    let c = 0;
    for (; c + 4 <= groups; c += 4) {
      const off = <usize>c << 2;
      const v = v128.load(xr + off);
      v128.store(mins + off, f32x4.pmin(v128.load(mins + off), v));
      v128.store(maxs + off, f32x4.pmax(v128.load(maxs + off), v));
      const nan = f32x4.ne(v, v);
      count -= i32x4.extract_lane(nan, 0) + i32x4.extract_lane(nan, 1) + i32x4.extract_lane(nan, 2) + i32x4.extract_lane(nan, 3);
    }
    for (; c < groups; c++) {
      const off = <usize>c << 2;
      const v = load<f32>(xr + off);
      if (v != v) {
        count++;
        continue;
      }
      if (v < load<f32>(mins + off)) store<f32>(mins + off, v);
      if (v > load<f32>(maxs + off)) store<f32>(maxs + off, v);
    }
  }
  return count;
}

/** Merge the min/max of n f32 values at x into mins/maxs (f32[groups]). Returns the NaN count. */
export function min_max_f32(x: usize, n: i32, inner: i32, groups: i32, firstGroup: i32, mins: usize, maxs: usize): i32 {
  if (groups == 1) return minMaxRun(x, n, mins, maxs);
  if (inner == 1) return minMaxRows(x, n, groups, mins, maxs);
  let count = 0;
  let g = firstGroup;
  for (let start = 0; start < n; start += inner) {
    const len = min(inner, n - start);
    count += minMaxRun(x + (<usize>start << 2), len, mins + (<usize>g << 2), maxs + (<usize>g << 2));
    g++;
    if (g == groups) g = 0;
  }
  return count;
}
