import { backend_util } from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { convGeometry, type ConvGeometry, type ConvOptions, type Padding } from "../../src/kernels/conv-geometry.js";
import { kernels } from "../../src/kernels/core.js";
import { col2im, col2imOp, im2col, im2colOp, im2colQuantized, im2colQuantizedOp } from "../../src/kernels/im2col.js";
import { runInline } from "../../src/kernels/operation.js";
import { col2imRef, conv2dRef, im2colRef } from "../../src/kernels/reference.js";
import { mulberry32, randomFloats, randomInts } from "./random.js";

const padLabel = (p: Padding): string => (typeof p === "string" ? p : `[${p.join(",")}]`);
const label = (shape: number[], k: number | [number, number], o: ConvOptions): string => {
  const kk = typeof k === "number" ? `${k}x${k}` : `${k[0]}x${k[1]}`;
  const pair = (v: ConvOptions["strides"]): string => (v === undefined ? "1" : typeof v === "number" ? `${v}` : `${v[0]},${v[1]}`);
  return `x=[${shape.join(",")}] k=${kk} s=${pair(o.strides)} d=${pair(o.dilations)} p=${padLabel(o.padding)}`;
};

const toInt8 = (a: Int32Array): Int8Array => Int8Array.from(a);
const toUint8 = (a: Int32Array): Uint8Array => Uint8Array.from(a);
/** Array with -0 turned into +0, so that exact comparisons ignore the sign of zero sums. */
const plain = (a: Float32Array): number[] => Array.from(a, (v) => v + 0);

describe("convGeometry matches tfjs computeConv2DInfo", () => {
  const cases: Array<[number[], [number, number], ConvOptions]> = [];
  for (const [h, w] of [[5, 5], [6, 6], [7, 9], [1, 4], [11, 3]]) {
    for (const k of [1, 2, 3, 5]) {
      for (const s of [1, 2, 3]) {
        for (const d of [1, 2]) {
          for (const padding of ["same", "valid", [1, 2, 0, 3]] as Padding[]) cases.push([[2, h, w, 3], [k, k === 1 ? 3 : k], { strides: s, dilations: d, padding }]);
        }
      }
    }
  }
  for (const [shape, k, options] of cases) {
    const [h, w] = [shape[1], shape[2]];
    const d = options.dilations as number;
    const pads = options.padding;
    const tooBig = pads !== "same" && ((k[0] - 1) * d + 1 > h + (typeof pads === "string" ? 0 : pads[0] + pads[1]) ||
      (k[1] - 1) * d + 1 > w + (typeof pads === "string" ? 0 : pads[2] + pads[3]));
    it(label(shape, k, options) + (tooBig ? " (kernel too large)" : ""), () => {
      if (tooBig) {
        expect(() => convGeometry(shape, k, options)).toThrow(/convGeometry: the effective kernel .* is larger than the padded input/);
        return;
      }
      const g = convGeometry(shape, k, options);
      const tfPad = typeof pads === "string" ? pads : [[0, 0], [pads[0], pads[1]], [pads[2], pads[3]], [0, 0]];
      const info = backend_util.computeConv2DInfo(
        shape as [number, number, number, number], [k[0], k[1], 3, 4], options.strides as number, d,
        tfPad as "same" | "valid" | backend_util.ExplicitPadding,
      );
      expect([g.outHeight, g.outWidth]).toEqual([info.outHeight, info.outWidth]);
      expect([g.padTop, g.padBottom, g.padLeft, g.padRight]).toEqual([info.padInfo.top, info.padInfo.bottom, info.padInfo.left, info.padInfo.right]);
      expect(g.rows).toBe(2 * info.outHeight * info.outWidth);
      expect(g.patchSize).toBe(k[0] * k[1] * 3);
    });
  }

  it("x=[1,5,5,1] k=3x3 s=2 p=same pads 1 on each side; x=[1,6,6,1] pads 0 before and 1 after", () => {
    const a = convGeometry([1, 5, 5, 1], 3, { strides: 2, padding: "same" });
    expect([a.outHeight, a.padTop, a.padBottom]).toEqual([3, 1, 1]);
    const b = convGeometry([1, 6, 6, 1], 3, { strides: 2, padding: "same" });
    expect([b.outHeight, b.padTop, b.padBottom]).toEqual([3, 0, 1]);
  });

  it("x=[1,3,3,2] k=5x5 p=same: a kernel larger than the input is padded, as tfjs does", () => {
    const g = convGeometry([1, 3, 3, 2], 5, { padding: "same" });
    expect([g.outHeight, g.outWidth, g.padTop, g.padBottom]).toEqual([3, 3, 2, 2]);
  });
});

describe("convGeometry errors", () => {
  it("names the rule and the value", () => {
    expect(() => convGeometry([1, 5, 5], 3, { padding: "same" })).toThrow(/convGeometry: input must be rank 4 .* but got shape \[1,5,5\]/);
    expect(() => convGeometry([1, 5, -5, 1], 3, { padding: "same" })).toThrow(/input width must be an integer >= 0|input width must be an integer in 0/);
    expect(() => convGeometry([1, 5, 5, 1], 0, { padding: "same" })).toThrow(/kernelSize\[0\] \(height\) must be an integer in 1\.\./);
    expect(() => convGeometry([1, 5, 5, 1], 3, { padding: "same", strides: 0 })).toThrow(/strides\[0\] \(height\) must be an integer in 1\.\..*but got 0/);
    expect(() => convGeometry([1, 5, 5, 1], 3, { padding: "same", strides: [1, -2] })).toThrow(/strides\[1\] \(width\).*but got -2/);
    expect(() => convGeometry([1, 5, 5, 1], 3, { padding: "same", dilations: 1.5 })).toThrow(/dilations\[0\].*but got 1.5/);
    expect(() => convGeometry([1, 5, 5, 1], 3, { padding: "full" as Padding })).toThrow(/padding must be 'same', 'valid' or \[top, bottom, left, right\], but got 'full'/);
    expect(() => convGeometry([1, 5, 5, 1], 3, { padding: [1, 1, 1] as unknown as Padding })).toThrow(/explicit padding must be \[top, bottom, left, right\], but got \[1,1,1\]/);
    expect(() => convGeometry([1, 5, 5, 1], 3, { padding: [1, -1, 0, 0] })).toThrow(/padding bottom must be an integer .* but got -1/);
    expect(() => convGeometry([1, 4, 9, 1], 3, { padding: "valid", dilations: 2 })).toThrow(
      /effective kernel height 5 \(kernel 3 dilated by 2\) is larger than the padded input height 4/,
    );
    expect(() => convGeometry([1, 5, 2, 1], [1, 3], { padding: [0, 0, 0, 0] })).toThrow(/effective kernel width 3 is larger than the padded input width 2/);
  });
});

interface Case {
  shape: [number, number, number, number];
  kernel: number | [number, number];
  options: ConvOptions;
}

function cases(): Case[] {
  const list: Case[] = [];
  const spatial: Array<[number, number, number]> = [[2, 7, 9], [1, 11, 6], [3, 5, 5], [1, 9, 13]];
  let i = 0;
  for (const k of [1, 3, 5]) {
    for (const s of [1, 2]) {
      for (const d of [1, 2]) {
        for (const padding of ["same", "valid", [1, 0, 2, 1]] as Padding[]) {
          for (const c of [1, 3, 8, 17]) {
            const [n, h, w] = spatial[i++ % spatial.length];
            const options = { strides: s, dilations: d, padding };
            const effective = (k - 1) * d + 1;
            const extra = typeof padding === "string" ? [0, 0] : [padding[0] + padding[1], padding[2] + padding[3]];
            if (padding !== "same" && (effective > h + extra[0] || effective > w + extra[1])) continue;
            list.push({ shape: [n, h, w, c], kernel: k, options });
          }
        }
      }
    }
  }
  // non-square kernels, strides and dilations, strides and dilations together, stride > kernel
  list.push({ shape: [2, 8, 7, 5], kernel: [1, 3], options: { strides: [2, 1], dilations: [1, 2], padding: "same" } });
  list.push({ shape: [1, 10, 12, 4], kernel: [3, 2], options: { strides: [1, 3], dilations: [2, 1], padding: "valid" } });
  list.push({ shape: [2, 9, 9, 6], kernel: 3, options: { strides: 2, dilations: 2, padding: "same" } });
  list.push({ shape: [1, 9, 10, 3], kernel: 2, options: { strides: 3, padding: "valid" } });
  list.push({ shape: [1, 4, 4, 32], kernel: 7, options: { padding: "same" } });
  list.push({ shape: [1, 6, 5, 2], kernel: 3, options: { padding: [3, 4, 0, 5] } });
  return list;
}

describe("im2col and col2im kernels match the reference", () => {
  for (const { shape, kernel, options } of cases()) {
    it(label(shape, kernel, options), () => {
      const g = convGeometry(shape, kernel, options);
      const size = shape.reduce((a, b) => a * b, 1);
      const seed = size * 7 + g.patchSize;
      const x = randomFloats(size, seed);
      expect(Array.from(im2col(x, g))).toEqual(Array.from(im2colRef(x, g)));
      expect(Array.from(runInline(kernels(), im2colOp(x, g), 5))).toEqual(Array.from(im2colRef(x, g)));

      const rand = mulberry32(seed);
      const zpSigned = Math.floor(rand() * 256) - 128;
      const zpUnsigned = Math.floor(rand() * 256);
      const xs = toInt8(randomInts(size, seed + 1, -128, 127));
      const xu = toUint8(randomInts(size, seed + 2, 0, 255));
      expect(Array.from(im2colQuantized(xs, g, zpSigned))).toEqual(Array.from(im2colRef(xs, g, zpSigned)));
      expect(Array.from(runInline(kernels(), im2colQuantizedOp(xu, g, zpUnsigned), 3))).toEqual(Array.from(im2colRef(xu, g, zpUnsigned)));

      const cols = randomFloats(g.rows * g.patchSize, seed + 3);
      expect(Array.from(col2im(cols, g))).toEqual(Array.from(col2imRef(cols, g)));
      const base = randomFloats(size, seed + 4);
      expect(Array.from(runInline(kernels(), col2imOp(cols, g, base.slice(), true), 2))).toEqual(Array.from(col2imRef(cols, g, base)));
    });
  }
});

/** Plain-JS [rows, k] · [k, n], summed in f64 in k order and rounded once, as conv2dRef sums. */
function matmul(a: Float32Array, b: Float32Array, rows: number, k: number, n: number): Float32Array {
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let i = 0; i < k; i++) sum += a[r * k + i] * b[i * n + j];
      out[r * n + j] = sum;
    }
  }
  return out;
}

describe("conv(x, w) == im2col(x) · W with W as [kh*kw*cin, cout]", () => {
  const convCases: Array<[Case, number]> = [
    [{ shape: [2, 7, 9, 3], kernel: 3, options: { strides: 2, padding: "same" } }, 5],
    [{ shape: [1, 8, 8, 17], kernel: 5, options: { dilations: 2, padding: "same" } }, 4],
    [{ shape: [3, 6, 5, 8], kernel: 1, options: { strides: 2, padding: "valid" } }, 7],
    [{ shape: [1, 9, 7, 1], kernel: [3, 5], options: { padding: [2, 0, 1, 3] } }, 2],
  ];
  for (const [{ shape, kernel, options }, cout] of convCases) {
    it(`${label(shape, kernel, options)} cout=${cout}`, () => {
      const g = convGeometry(shape, kernel, options);
      const x = randomFloats(shape.reduce((a, b) => a * b, 1), 11);
      const w = randomFloats(g.patchSize * cout, 12);
      expect(plain(matmul(im2col(x, g), w, g.rows, g.patchSize, cout))).toEqual(plain(conv2dRef(x, w, g, cout)));
    });
  }

  it("col2im is the adjoint of im2col: <im2col(x), y> == <x, col2im(y)>", () => {
    const g = convGeometry([2, 7, 6, 3], 3, { strides: 2, dilations: 1, padding: "same" });
    const x = randomFloats(2 * 7 * 6 * 3, 21);
    const y = randomFloats(g.rows * g.patchSize, 22);
    const cols = im2col(x, g);
    const dx = col2im(y, g);
    let left = 0;
    let right = 0;
    for (let i = 0; i < cols.length; i++) left += cols[i] * y[i];
    for (let i = 0; i < x.length; i++) right += x[i] * dx[i];
    expect(left).toBeCloseTo(right, 3);
  });
});

describe("im2col edge cases", () => {
  it("x=[0,5,5,3] k=3x3 s=1 p=same: an empty batch gives an empty matrix", () => {
    const g = convGeometry([0, 5, 5, 3], 3, { padding: "same" });
    expect([g.rows, g.patchSize]).toEqual([0, 27]);
    expect(im2col(new Float32Array(0), g).length).toBe(0);
    expect(col2im(new Float32Array(0), g).length).toBe(0);
  });
  it("x=[2,4,4,0] k=3x3 p=same: zero channels give rows of length 0", () => {
    const g = convGeometry([2, 4, 4, 0], 3, { padding: "same" });
    expect([g.rows, g.patchSize]).toEqual([32, 0]);
    expect(im2colQuantized(new Int8Array(0), g, 3).length).toBe(0);
    expect(col2im(new Float32Array(0), g).length).toBe(0);
  });
  it("x=[1,0,4,2] k=3x3 p=same: zero height gives zero rows", () => {
    const g = convGeometry([1, 0, 4, 2], 3, { padding: "same" });
    expect(g.rows).toBe(0);
    expect(im2col(new Float32Array(0), g).length).toBe(0);
  });
  it("x=[1,1,1,2] k=3x3 p=same: every tap but the centre is padding (the zero point for 8 bits)", () => {
    const g = convGeometry([1, 1, 1, 2], 3, { padding: "same" });
    const q = im2colQuantized(new Uint8Array([200, 201]), g, 128);
    expect(Array.from(q)).toEqual([128, 128, 128, 128, 128, 128, 128, 128, 200, 201, 128, 128, 128, 128, 128, 128, 128, 128]);
  });
  it("x=[2,9,11,16] k=3x3 s=1 p=same works on arrays resident in kernel memory", () => {
    const core = kernels();
    const g = convGeometry([2, 9, 11, 16], 3, { padding: "same" });
    const x = core.allocCopy(randomFloats(2 * 9 * 11 * 16, 5));
    const out = core.alloc(Float32Array, g.rows * g.patchSize);
    expect(im2col(x, g, out)).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(im2colRef(x, g)));
    core.free(x);
    core.free(out);
  });
});

describe("im2col argument errors", () => {
  const g: ConvGeometry = convGeometry([1, 5, 5, 2], 3, { padding: "same" });
  it("rejects arrays that do not match the geometry", () => {
    expect(() => im2col(new Float32Array(49), g)).toThrow(/im2col: x must hold the NHWC input \[1, 5, 5, 2\] \(50 elements\), but has 49/);
    expect(() => im2col(new Float32Array(50), g, new Float32Array(3))).toThrow(/im2col: out must have rows \* patchSize = 25 \* 18 elements, but has 3/);
    expect(() => col2im(new Float32Array(7), g)).toThrow(/col2im: cols must have rows \* patchSize = 25 \* 18 elements, but has 7/);
    expect(() => col2im(new Float32Array(450), g, new Float32Array(3))).toThrow(/col2im: out must hold the NHWC input/);
  });
  it("rejects zero points out of range and mismatched 8-bit types", () => {
    expect(() => im2colQuantized(new Int8Array(50), g, 128)).toThrow(/im2colQuantized: zeroPoint must be an integer in -128..127, but got 128/);
    expect(() => im2colQuantized(new Uint8Array(50), g, -1)).toThrow(/zeroPoint must be an integer in 0..255, but got -1/);
    expect(() => im2colQuantized(new Uint8Array(50), g, 0, new Int8Array(450) as unknown as Uint8Array)).toThrow(/out must be a Uint8Array like x/);
  });
  it("rejects a geometry whose rows or patch size were edited", () => {
    expect(() => im2col(new Float32Array(50), { ...g, rows: 30 })).toThrow(/geometry.rows \(30\) and patchSize \(18\) do not match its shapes/);
    expect(() => im2col(new Float32Array(50), { ...g, strideHeight: 0 })).toThrow(/geometry.strideHeight must be an integer in 1/);
  });
  it("leaves no temporaries behind", () => {
    const core = kernels();
    const before = core.bytesInUse;
    im2col(randomFloats(50, 1), g);
    col2im(randomFloats(450, 2), g, randomFloats(50, 3), true);
    expect(core.bytesInUse).toBe(before);
  });
});
