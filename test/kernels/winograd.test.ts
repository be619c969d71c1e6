import { afterEach, describe, expect, it } from "vitest";
import { backpropInputRunsAsConv, conv2dBackpropFilterOp, conv2dBackpropInputOp, conv2dForwardOp, type Epilogue } from "../../src/kernels/conv2d.js";
import { convGeometry, type ConvGeometry, type Padding } from "../../src/kernels/conv-geometry.js";
import { kernels } from "../../src/kernels/core.js";
import { runInline, type KernelCall } from "../../src/kernels/operation.js";
import {
  conv2dBackpropFilterRef, conv2dBackpropInputRef, conv2dForwardRef, gemmF32Ref, winogradFilterGradRef, winogradFilterRef,
  winogradGradTilesRef, winogradInputRef, winogradOutputRef, type WinogradTiles,
} from "../../src/kernels/reference.js";
import { setWinogradEnabled, winogradApplies } from "../../src/kernels/winograd.js";
import { mulberry32, randomFloats } from "./random.js";

type Fn = (...args: number[]) => number;
/** F(4×4, 3×3): 6×6 transforms, 4×4 output tiles. */
const XI = 36;
const TILE = 4;
/**
 * The f32 transforms against the f64 products: a 2-D transform sums up to 36 terms with
 * coefficients up to 8 (values up to ~100 from inputs in [-1, 1]), so rounding reaches a few
 * 1e-6; a wrong coefficient or slot would be off by O(1).
 */
const TRANSFORM_TOL = 3e-5;
const core = kernels();
const call = (name: string, ...args: number[]): number => (core.exports[name] as Fn)(...args);

/** Every element within `tol` of the reference, relative to max(1, |reference|). */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])))) {
      throw new Error(`element ${i}: ${actual[i]} vs ${expected[i]} (tolerance ${tol})`);
    }
  }
}

/** Bytes between the 36 transformed matrices of `count` rows × `width` (one cache line of padding). */
const matrixBytes = (count: number, width: number): number => (count * width + 16) * 4;

/** The 36 padded matrices at `ptr` as one unpadded [36][count][width] array. */
function readMatrices(ptr: number, count: number, width: number): Float32Array {
  const out = new Float32Array(XI * count * width);
  for (let xi = 0; xi < XI; xi++) out.set(core.view(Float32Array, ptr + xi * matrixBytes(count, width), count * width), xi * count * width);
  return out;
}

/**
 * Every element within tol · max(1, max |reference|): Winograd's transforms mix values of the whole
 * tile, so its rounding error scales with the largest outputs, not with each element's own size.
 */
function expectCloseToScale(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * scale)) throw new Error(`element ${i}: ${actual[i]} vs ${expected[i]} (tolerance ${tol} × ${scale})`);
  }
}

function withArrays<T>(run: (alloc: (a: Float32Array | number) => number) => T): T {
  const owned: number[] = [];
  const alloc = (a: Float32Array | number): number => {
    const p = typeof a === "number" ? core.malloc(a * 4) : core.allocCopy(a).byteOffset;
    owned.push(p);
    return p;
  };
  try {
    return run(alloc);
  } finally {
    for (const p of owned) core.free(p);
  }
}

describe("Winograd transforms match their reference twins", () => {
  const rand = mulberry32(77);
  const pick = <T>(v: readonly T[]): T => v[Math.floor(rand() * v.length)];
  for (let trial = 0; trial < 12; trial++) {
    const [cin, cout] = [pick([4, 8, 12, 16]), pick([4, 8, 12, 20])];
    const [H, W, batch] = [pick([1, 2, 3, 5, 6, 9, 11]), pick([1, 2, 4, 7, 8, 10]), pick([1, 2, 3])];
    const [padTop, padLeft] = [pick([0, 1, 2]), pick([0, 1, 2])];
    const [OH, OW] = [Math.max(1, H + 2 * padTop - 2), Math.max(1, W + 2 * padLeft - 2)];
    const [tilesH, tilesW] = [Math.ceil(OH / TILE), Math.ceil(OW / TILE)];
    const total = batch * tilesH * tilesW;
    const tile0 = Math.floor(rand() * total);
    const count = 1 + Math.floor(rand() * (total - tile0));
    const label = `cin=${cin} cout=${cout} x=[${batch},${H},${W}] pad=(${padTop},${padLeft}) out=${OH}x${OW} tiles ${tile0}+${count}`;

    it(`filter transform, packed as the GEMM's B (${label})`, () => {
      const w = randomFloats(9 * cin * cout, trial);
      const packed = withArrays((alloc) => {
        const out = alloc(XI * cin * Math.ceil(cout / 8) * 8);
        call("winograd_filter_f32", alloc(w), cin, cout, out);
        return core.view(Float32Array, out, XI * cin * Math.ceil(cout / 8) * 8).slice();
      });
      // unpack: ξ block, panel p, step k, column j
      const panels = Math.ceil(cout / 8);
      const unpacked = new Float32Array(XI * cin * cout);
      for (let xi = 0; xi < XI; xi++) {
        for (let k = 0; k < cin; k++) {
          for (let col = 0; col < panels * 8; col++) {
            const v = packed[xi * panels * 8 * cin + (Math.floor(col / 8) * cin + k) * 8 + (col % 8)];
            if (col < cout) unpacked[(xi * cin + k) * cout + col] = v;
            else expect(v).toBe(0);
          }
        }
      }
      expectClose(unpacked, winogradFilterRef(w, cin, cout), TRANSFORM_TOL);
    });

    it(`input transform, zero outside the image (${label})`, () => {
      const x = randomFloats(batch * H * W * cin, trial + 100);
      const t: WinogradTiles = { height: H, width: W, channels: cin, tilesH, tilesW, tile0, count };
      const v = withArrays((alloc) => {
        const out = alloc((XI * matrixBytes(count, cin)) / 4);
        call("winograd_input_f32", alloc(x), H, W, cin, padTop, padLeft, tilesH, tilesW, tile0, count, out);
        return readMatrices(out, count, cin);
      });
      expectClose(v, winogradInputRef(x, t, padTop, padLeft), TRANSFORM_TOL);
    });

    it(`output transform, storing and accumulating, edges dropped (${label})`, () => {
      const m = randomFloats(XI * count * cout, trial + 200);
      const y0 = randomFloats(batch * OH * OW * cout, trial + 300);
      const t: WinogradTiles = { height: OH, width: OW, channels: cout, tilesH, tilesW, tile0, count };
      for (const accumulate of [false, true]) {
        const y = withArrays((alloc) => {
          const pm = alloc((XI * matrixBytes(count, cout)) / 4);
          for (let xi = 0; xi < XI; xi++) core.view(Float32Array, pm + xi * matrixBytes(count, cout), count * cout).set(m.subarray(xi * count * cout, (xi + 1) * count * cout));
          const py = alloc(y0);
          call("winograd_output_f32", pm, count, cout, py, OH, OW, tilesH, tilesW, tile0, accumulate ? 1 : 0, 0, -Infinity, Infinity);
          return core.view(Float32Array, py, y0.length).slice();
        });
        const expected = y0.slice();
        winogradOutputRef(m, t, expected, accumulate);
        expectClose(y, expected, TRANSFORM_TOL);
      }
    });

    it(`output-gradient tiles and the filter-gradient transform (${label})`, () => {
      const dy = randomFloats(batch * OH * OW * cout, trial + 400);
      const s = randomFloats(XI * cin * cout, trial + 500);
      const t: WinogradTiles = { height: OH, width: OW, channels: cout, tilesH, tilesW, tile0, count };
      const [z, dw] = withArrays((alloc) => {
        const pz = alloc((XI * matrixBytes(count, cout)) / 4);
        call("winograd_grad_tiles_f32", alloc(dy), OH, OW, cout, tilesH, tilesW, tile0, count, pz);
        const pdw = alloc(9 * cin * cout);
        call("winograd_filter_grad_f32", alloc(s), cin, cout, pdw);
        return [readMatrices(pz, count, cout), core.view(Float32Array, pdw, 9 * cin * cout).slice()];
      });
      expectClose(z, winogradGradTilesRef(dy, t), TRANSFORM_TOL);
      expectClose(dw, winogradFilterGradRef(s, cin, cout), TRANSFORM_TOL);
    });
  }
});

describe("gemm_f32_rows (A read in place) matches the reference GEMM", () => {
  const shapes: Array<[number, number, number]> = [[1, 4, 1], [3, 8, 5], [4, 8, 16], [6, 12, 7], [13, 20, 33], [64, 16, 16], [9, 9, 600]];
  for (const [m, n, k] of shapes) {
    it(`m=${m} n=${n} k=${k}, stored and accumulated`, () => {
      const lda = k + 3; // a row stride wider than the row
      const a = randomFloats(m * lda, m + n);
      const b = randomFloats(k * n, k);
      const c0 = randomFloats(m * n, 5);
      const dense = new Float32Array(m * k);
      for (let r = 0; r < m; r++) dense.set(a.subarray(r * lda, r * lda + k), r * k);
      const expected = gemmF32Ref(dense, b, { m, n, k });
      for (const accumulate of [false, true]) {
        const c = withArrays((alloc) => {
          const pb = alloc(Math.ceil(n / 8) * 8 * k);
          call("gemm_f32_pack_b", alloc(b), n, k, n, 0, pb, 0, Math.ceil(n / 8));
          const pc = alloc(c0);
          call("gemm_f32_rows", alloc(a), lda, pb, pc, n, m, n, k, accumulate ? 1 : 0);
          return core.view(Float32Array, pc, m * n).slice();
        });
        const want = accumulate ? expected.map((v, i) => v + c0[i]) : expected;
        expectClose(c, want, 1e-5 * Math.sqrt(k));
      }
    });
  }
});

describe("gemm_f32_at_b (Aᵀ · B, both read in place) matches the reference GEMM", () => {
  // m a multiple of 4; n = 12 and 20 make the last panel read 4 values past each B row
  const shapes: Array<[number, number, number]> = [[4, 8, 1], [8, 12, 5], [16, 16, 56], [12, 20, 33], [64, 64, 12]];
  for (const [m, n, k] of shapes) {
    it(`m=${m} n=${n} k=${k}, stored and accumulated`, () => {
      const [lda, ldb] = [m + 4, n]; // A rows wider than m; B rows exactly n, padded after the last
      const a = randomFloats(k * lda, m + k);
      const b = randomFloats(k * ldb + 8, n + k);
      const c0 = randomFloats(m * n, 7);
      const at = new Float32Array(m * k); // Aᵀ as a dense m × k matrix
      for (let kk = 0; kk < k; kk++) for (let r = 0; r < m; r++) at[r * k + kk] = a[kk * lda + r];
      const expected = gemmF32Ref(at, b.subarray(0, k * n), { m, n, k });
      for (const accumulate of [false, true]) {
        const c = withArrays((alloc) => {
          const pc = alloc(c0);
          call("gemm_f32_at_b", alloc(a), lda, alloc(b), ldb, pc, n, m, n, k, accumulate ? 1 : 0);
          return core.view(Float32Array, pc, m * n).slice();
        });
        expectClose(c, accumulate ? expected.map((v, i) => v + c0[i]) : expected, 1e-5 * Math.sqrt(k));
      }
    });
  }
});

/** The kernels an operation's phases call, by name. */
function kernelNames(build: ReturnType<typeof conv2dForwardOp>, parts = 1): string[] {
  const op = build(core, parts);
  try {
    return op.phases.flat().map((c: KernelCall) => c[0]);
  } finally {
    op.release();
  }
}

describe("3×3 stride-1 convolutions run as Winograd and match the direct-loop references", () => {
  afterEach(() => setWinogradEnabled(true));
  const rand = mulberry32(2026);
  const pick = <T>(v: readonly T[]): T => v[Math.floor(rand() * v.length)];
  const cases: Array<{ x: [number, number, number, number]; cout: number; padding: Padding }> = [
    { x: [2, 28, 28, 16], cout: 16, padding: "same" },
    { x: [3, 7, 7, 64], cout: 64, padding: "same" },
    { x: [1, 5, 9, 8], cout: 12, padding: "valid" },
    { x: [2, 4, 3, 12], cout: 4, padding: [2, 0, 1, 2] },
  ];
  while (cases.length < 14) {
    cases.push({ x: [pick([1, 2, 3]), pick([3, 4, 5, 8, 9]), pick([3, 6, 7, 10]), pick([8, 12, 16, 32])], cout: pick([4, 8, 12, 16, 20]), padding: pick<Padding>(["same", "valid", [1, 0, 2, 1], [0, 2, 0, 2]]) });
  }
  for (const c of cases) {
    const g: ConvGeometry = convGeometry(c.x, [3, 3], { padding: c.padding });
    const label = `x=[${c.x}] cout=${c.cout} padding=${typeof c.padding === "string" ? c.padding : `[${c.padding}]`}`;
    const x = randomFloats(c.x.reduce((p, d) => p * d), c.x[1] * 7 + c.cout);
    const w = randomFloats(9 * c.x[3] * c.cout, c.x[2] + 3);
    const dy = randomFloats(g.rows * c.cout, c.cout * 5 + c.x[0]);
    const epilogue: Epilogue = { bias: randomFloats(c.cout, 9), activation: "relu" };
    // fp32 within 1e-4 of the f64 sums, relative to the largest value (measured: 2-6e-6)
    const tol = 1e-4;
    it(`${label}: forward with bias and relu, on 1, 2 and 3 threads`, () => {
      expect(winogradApplies(g, c.cout)).toBe(true);
      expect(kernelNames(conv2dForwardOp(x, w, g, c.cout, epilogue))).toContain("conv2d_winograd_forward_images_f32");
      const expected = conv2dForwardRef(x, w, g, c.cout, epilogue);
      for (const parts of [1, 2, 3]) expectCloseToScale(runInline(core, conv2dForwardOp(x, w, g, c.cout, epilogue), parts), expected, tol);
    });
    it(`${label}: input gradient, as the Winograd convolution of dy with the flipped filter`, () => {
      expect(backpropInputRunsAsConv(g, c.cout)).toBe(true);
      expect(kernelNames(conv2dBackpropInputOp(dy, w, g, c.cout) as never)).toContain("conv2d_winograd_forward_images_f32");
      const expected = conv2dBackpropInputRef(dy, w, g, c.cout);
      for (const parts of [1, 2]) expectCloseToScale(runInline(core, conv2dBackpropInputOp(dy, w, g, c.cout), parts), expected, tol);
    });
    it(`${label}: filter gradient, the threads' transformed shares added`, () => {
      expect(kernelNames(conv2dBackpropFilterOp(x, dy, g, c.cout) as never)).toContain("conv2d_winograd_filter_grad_images_f32");
      const expected = conv2dBackpropFilterRef(x, dy, g, c.cout);
      for (const parts of [1, 2, 3]) expectCloseToScale(runInline(core, conv2dBackpropFilterOp(x, dy, g, c.cout), parts), expected, tol);
    });
  }

  it("takes the im2col path where Winograd does not apply, or when switched off", () => {
    const base = convGeometry([2, 8, 8, 16], [3, 3], { padding: "same" });
    expect(winogradApplies(base, 16)).toBe(true);
    expect(winogradApplies(base, 6)).toBe(false); // cout not a multiple of 4
    expect(winogradApplies(convGeometry([2, 8, 8, 6], [3, 3], { padding: "same" }), 8)).toBe(false);
    expect(winogradApplies(convGeometry([2, 8, 8, 4], [3, 3], { padding: "same" }), 8)).toBe(true); // depth-4 GEMMs still win
    expect(winogradApplies(convGeometry([2, 8, 8, 3], [3, 3], { padding: "same" }), 8)).toBe(false); // the stem of an RGB net
    expect(winogradApplies(convGeometry([2, 8, 8, 16], [3, 3], { padding: "same", strides: 2 }), 16)).toBe(false);
    expect(winogradApplies(convGeometry([2, 8, 8, 16], [3, 3], { padding: "same", dilations: 2 }), 16)).toBe(false);
    expect(winogradApplies(convGeometry([2, 8, 8, 16], [5, 5], { padding: "same" }), 16)).toBe(false);
    const x = randomFloats(2 * 8 * 8 * 16, 1);
    const w = randomFloats(9 * 16 * 16, 2);
    const winograd = runInline(core, conv2dForwardOp(x, w, base, 16));
    expect(setWinogradEnabled(false)).toBe(true);
    expect(winogradApplies(base, 16)).toBe(false);
    expect(kernelNames(conv2dForwardOp(x, w, base, 16))).not.toContain("conv2d_winograd_forward_images_f32");
    const direct = runInline(core, conv2dForwardOp(x, w, base, 16));
    expectCloseToScale(winograd, direct, 2e-5);
    expect(Array.from(winograd)).not.toEqual(Array.from(direct)); // a different order of operations
  });
});
