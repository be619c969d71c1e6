import { describe, expect, it } from "vitest";
import {
  ACTIVATIONS, applyEpilogue, backpropInputRunsAsConv, conv2dBackpropFilter, conv2dBackpropFilterOp, conv2dBackpropInput, conv2dBackpropInputOp, conv2dForward,
  conv2dForwardOp, forwardFilterLength, im2colIsIdentity, prepareForwardFilter, type ConvChunking, type Epilogue,
} from "../../src/kernels/conv2d.js";
import { convGeometry, type ConvGeometry, type Padding } from "../../src/kernels/conv-geometry.js";
import { kernels } from "../../src/kernels/core.js";
import { runInline } from "../../src/kernels/operation.js";
import { activationRef, conv2dBackpropFilterRef, conv2dBackpropInputRef, conv2dForwardRef } from "../../src/kernels/reference.js";
import { mulberry32, randomFloats } from "./random.js";

interface Case {
  x: [number, number, number, number];
  k: [number, number];
  cout: number;
  strides: number;
  dilations: number;
  padding: Padding;
}

const label = (c: Case): string =>
  `x=[${c.x}] w=[${c.k},${c.x[3]},${c.cout}] s=${c.strides} d=${c.dilations} p=${typeof c.padding === "string" ? c.padding : `[${c.padding}]`}`;

const geometry = (c: Case): ConvGeometry => convGeometry(c.x, c.k, { strides: c.strides, dilations: c.dilations, padding: c.padding });

/** fp32 sums reorder: compare with the f64 reference within a tolerance scaled by sqrt(terms). */
function expectClose(actual: Float32Array, expected: Float32Array, terms: number): void {
  expect(actual.length).toBe(expected.length);
  const tol = 8e-6 * Math.sqrt(Math.max(terms, 1));
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])))) {
      throw new Error(`element ${i}: ${actual[i]} vs ${expected[i]} (tolerance ${tol})`);
    }
  }
}

/** Seeded cases over the axes the brief names, plus the shapes that take special paths. */
function cases(): Case[] {
  const rand = mulberry32(2024);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)];
  const list: Case[] = [
    { x: [2, 5, 5, 3], k: [1, 1], cout: 4, strides: 1, dilations: 1, padding: "valid" }, // im2col skipped
    { x: [2, 6, 6, 17], k: [1, 1], cout: 9, strides: 1, dilations: 1, padding: "same" }, // im2col skipped
    { x: [3, 5, 7, 3], k: [5, 7], cout: 10, strides: 1, dilations: 1, padding: "valid" }, // whole image: skipped
    { x: [2, 7, 7, 8], k: [1, 1], cout: 5, strides: 2, dilations: 1, padding: "valid" },
    { x: [2, 9, 9, 3], k: [1, 1], cout: 4, strides: 3, dilations: 1, padding: [1, 0, 2, 1] }, // pixels read by no tap
    { x: [1, 11, 11, 1], k: [3, 3], cout: 1, strides: 4, dilations: 1, padding: "valid" },
    { x: [2, 7, 9, 17], k: [5, 5], cout: 17, strides: 2, dilations: 2, padding: "same" },
    { x: [1, 5, 5, 8], k: [3, 3], cout: 16, strides: 1, dilations: 2, padding: [2, 2, 2, 2] },
    // input gradient as a convolution of dy (stride 1, cin >= 8, cout <= 32) and through col2im
    { x: [2, 7, 7, 8], k: [3, 3], cout: 4, strides: 1, dilations: 1, padding: "same" },
    { x: [2, 9, 8, 9], k: [5, 3], cout: 3, strides: 1, dilations: 1, padding: "valid" },
    { x: [1, 9, 9, 16], k: [3, 3], cout: 32, strides: 1, dilations: 2, padding: [0, 4, 1, 3] },
    { x: [1, 6, 6, 8], k: [3, 3], cout: 5, strides: 1, dilations: 1, padding: [3, 0, 0, 1] },
    { x: [1, 6, 6, 17], k: [3, 3], cout: 33, strides: 1, dilations: 1, padding: "same" },
  ];
  while (list.length < 40) {
    const k = pick([1, 3, 5]);
    const dilations = pick([1, 2]);
    const padding = pick<Padding>(["same", "valid", [1, 2, 0, 1], [2, 2, 2, 2]]);
    const size = (k - 1) * dilations + 1 + pick([0, 2, 4, 6]);
    list.push({
      x: [pick([1, 2, 3]), size, size + pick([0, 2]), pick([1, 3, 8, 17])],
      k: [k, k], cout: pick([1, 4, 9, 16, 17]), strides: pick([1, 2]), dilations, padding,
    });
  }
  return list;
}

describe("conv2d forward and gradients match the direct-loop references", () => {
  for (const c of cases()) {
    const g = geometry(c);
    const x = randomFloats(c.x.reduce((p, d) => p * d), c.x[1] * 31 + c.cout);
    const w = randomFloats(g.patchSize * c.cout, c.k[0] * 7 + c.x[3]);
    const dy = randomFloats(g.rows * c.cout, c.cout * 13 + c.x[2]);
    const identity = im2colIsIdentity(g) ? " (no im2col)" : "";
    const inputPath = identity || (backpropInputRunsAsConv(g, c.cout) ? " (as a conv of dy)" : " (col2im)");
    it(`forward ${label(c)}${identity}`, () => {
      expectClose(conv2dForward(x, w, g, c.cout), conv2dForwardRef(x, w, g, c.cout), g.patchSize);
    });
    it(`backprop input ${label(c)}${inputPath}`, () => {
      expectClose(conv2dBackpropInput(dy, w, g, c.cout), conv2dBackpropInputRef(dy, w, g, c.cout), g.patchSize * c.cout);
    });
    it(`backprop filter ${label(c)}${identity}`, () => {
      expectClose(conv2dBackpropFilter(x, dy, g, c.cout), conv2dBackpropFilterRef(x, dy, g, c.cout), g.rows);
    });
  }
});

describe.each<Case>([
  { x: [5, 9, 7, 3], k: [3, 3], cout: 6, strides: 1, dilations: 1, padding: "same" },
  { x: [5, 7, 9, 8], k: [3, 3], cout: 6, strides: 1, dilations: 1, padding: "same" },
  { x: [5, 6, 7, 8], k: [1, 1], cout: 6, strides: 1, dilations: 1, padding: "valid" },
  { x: [4, 9, 9, 3], k: [3, 3], cout: 6, strides: 2, dilations: 1, padding: "same" },
])("conv2d chunking and pool splits", (c) => {
  const g = geometry(c);
  const x = randomFloats(c.x.reduce((p, d) => p * d), 1);
  const w = randomFloats(g.patchSize * 6, 2);
  const dy = randomFloats(g.rows * 6, 3);
  const run = <T>(build: (chunking: ConvChunking) => Parameters<typeof runInline<T>>[1], chunkBytes: number, parts: number): T =>
    runInline(kernels(), build({ chunkBytes }), parts);
  // one image per chunk, two per chunk (the last chunk short), and everything in one chunk
  const imageBytes = g.outHeight * g.outWidth * g.patchSize * 4;
  for (const chunkBytes of [1, 2 * imageBytes, 2 ** 30]) {
    const path = backpropInputRunsAsConv(g, 6) ? "dx as a conv" : "dx by col2im";
    it(`${label(c)} ${path}: chunks of ${chunkBytes} bytes, split in 2 and 3 parts, equal the unsplit run (dW: adds the threads' shares)`, () => {
      const bias = randomFloats(6, 4);
      const forward = (ch: ConvChunking) => conv2dForwardOp(x, w, g, 6, { bias, activation: "relu" }, undefined, ch);
      const input = (ch: ConvChunking) => conv2dBackpropInputOp(dy, w, g, 6, undefined, ch);
      const filter = (ch: ConvChunking) => conv2dBackpropFilterOp(x, dy, g, 6, undefined, ch);
      for (const parts of [2, 3]) {
        for (const build of [forward, input]) {
          expect(Array.from(run(build, chunkBytes, parts))).toEqual(Array.from(run(build, chunkBytes, 1)));
        }
        // each thread sums its own images' share of dW, so the order of the additions differs
        expectClose(run(filter, chunkBytes, parts), conv2dBackpropFilterRef(x, dy, g, 6), g.rows);
      }
      expectClose(run(forward, chunkBytes, 1), conv2dForwardRef(x, w, g, 6, { bias, activation: "relu" }), g.patchSize);
      expectClose(run(input, chunkBytes, 1), conv2dBackpropInputRef(dy, w, g, 6), g.patchSize * 6);
      expectClose(run(filter, chunkBytes, 1), conv2dBackpropFilterRef(x, dy, g, 6), g.rows);
    });
  }

  it(`${label(c)} on arrays resident in kernel memory writes in place`, () => {
    const core = kernels();
    const [rx, rw, rdy] = [core.allocCopy(x), core.allocCopy(w), core.allocCopy(dy)];
    const [ry, rdx, rdw] = [core.alloc(Float32Array, g.rows * 6), core.alloc(Float32Array, x.length), core.alloc(Float32Array, w.length)];
    try {
      const epilogue: Epilogue = { bias: new Float32Array([0.5]), activation: "relu6" };
      runInline(core, conv2dForwardOp(rx, rw, g, 6, epilogue, ry), 2);
      expectClose(ry, conv2dForwardRef(x, w, g, 6, epilogue), g.patchSize);
      runInline(core, conv2dBackpropInputOp(rdy, rw, g, 6, rdx), 2);
      expectClose(rdx, conv2dBackpropInputRef(dy, w, g, 6), g.patchSize * 6);
      runInline(core, conv2dBackpropFilterOp(rx, rdy, g, 6, rdw), 2);
      expectClose(rdw, conv2dBackpropFilterRef(x, dy, g, 6), g.rows);
    } finally {
      for (const a of [rx, rw, rdy, ry, rdx, rdw]) core.free(a);
    }
  });
});

describe.each<Case>([
  { x: [5, 6, 7, 8], k: [1, 1], cout: 12, strides: 1, dilations: 1, padding: "valid" }, // x's rows in place
  { x: [4, 9, 9, 3], k: [3, 3], cout: 6, strides: 2, dilations: 1, padding: "same" }, // im2col
  { x: [3, 7, 9, 8], k: [3, 3], cout: 12, strides: 1, dilations: 1, padding: "same" }, // Winograd
])("conv2d forward with the filter prepared once", (c) => {
  const g = geometry(c);
  const x = randomFloats(c.x.reduce((p, d) => p * d), 5);
  const w = randomFloats(g.patchSize * c.cout, 6);
  it(`${label(c)}: the same result as packing per call, on 1, 2 and 3 threads, with chunks`, () => {
    const core = kernels();
    const rw = core.allocCopy(w);
    const prepared = core.alloc(Float32Array, forwardFilterLength(g, c.cout));
    try {
      prepareForwardFilter(core, rw, g, c.cout, prepared);
      const bias = randomFloats(c.cout, 7);
      for (const chunkBytes of [1, 2 ** 30]) {
        for (const parts of [1, 2, 3]) {
          const plain = runInline(core, conv2dForwardOp(x, w, g, c.cout, { bias }, undefined, { chunkBytes }), parts);
          const reused = runInline(core, conv2dForwardOp(x, w, g, c.cout, { bias }, undefined, { chunkBytes }, prepared), parts);
          expect(Array.from(reused)).toEqual(Array.from(plain));
        }
      }
      expectClose(runInline(core, conv2dForwardOp(x, w, g, c.cout, {}, undefined, {}, prepared)), conv2dForwardRef(x, w, g, c.cout), g.patchSize);
    } finally {
      core.free(rw);
      core.free(prepared);
    }
  });
  it(`${label(c)}: a prepared filter of the wrong size, or arrays outside kernel memory, are refused`, () => {
    const core = kernels();
    expect(() => conv2dForwardOp(x, w, g, c.cout, {}, undefined, {}, new Float32Array(3))).toThrow("prepared");
    expect(() => prepareForwardFilter(core, w, g, c.cout, new Float32Array(forwardFilterLength(g, c.cout)))).toThrow("kernel memory");
  });
});

describe("conv2d forward epilogue: bias and activation", () => {
  const c: Case = { x: [2, 7, 5, 3], k: [3, 3], cout: 5, strides: 2, dilations: 1, padding: "same" };
  const g = geometry(c);
  const x = randomFloats(2 * 7 * 5 * 3, 5, 2);
  const w = randomFloats(g.patchSize * 5, 6, 2);
  for (const activation of ACTIVATIONS) {
    for (const bias of [randomFloats(5, 7, 3), new Float32Array([-0.75]), undefined]) {
      const epilogue: Epilogue = { bias, activation, leakyreluAlpha: 0.3, preluWeights: randomFloats(5, 8) };
      it(`${label(c)} activation=${activation} bias=${bias ? `[${bias.length}]` : "none"}`, () => {
        expectClose(conv2dForward(x, w, g, 5, epilogue), conv2dForwardRef(x, w, g, 5, epilogue), g.patchSize);
      });
    }
  }
  // The bias and relu/relu6 are applied as Y is stored, on each path: im2col + GEMM (above), the
  // GEMM on x's rows (1x1, stride 1; two depth blocks with cin 600), and Winograd (3x3, stride 1,
  // channels a multiple of 4); also split over 3 parts.
  const paths: Array<[string, Case]> = [
    ["1x1 rows", { x: [2, 5, 3, 7], k: [1, 1], cout: 5, strides: 1, dilations: 1, padding: "valid" }],
    ["1x1 rows, two depth blocks", { x: [1, 3, 3, 600], k: [1, 1], cout: 6, strides: 1, dilations: 1, padding: "valid" }],
    ["winograd", { x: [2, 9, 7, 8], k: [3, 3], cout: 12, strides: 1, dilations: 1, padding: "same" }],
  ];
  for (const [path, pc] of paths) {
    for (const activation of ["linear", "relu", "relu6"] as const) {
      it(`${path} ${label(pc)}: bias and ${activation} as stored, inline and split in 3`, () => {
        const pg = geometry(pc);
        const px = randomFloats(pc.x.reduce((p, d) => p * d, 1), 11, 2);
        const pw = randomFloats(pg.patchSize * pc.cout, 12, 2 / Math.sqrt(pg.patchSize));
        const e: Epilogue = { bias: randomFloats(pc.cout, 13, 3), activation };
        const expected = conv2dForwardRef(px, pw, pg, pc.cout, e);
        if (activation !== "linear") expect(expected.some((v) => v === 0) && expected.some((v) => v > 0)).toBe(true);
        expectClose(conv2dForward(px, pw, pg, pc.cout, e), expected, pg.patchSize);
        expectClose(runInline(kernels(), conv2dForwardOp(px, pw, pg, pc.cout, e), 3), expected, pg.patchSize);
      });
    }
  }

  it("leakyrelu defaults to alpha 0.2 and prelu takes one slope for all channels", () => {
    for (const epilogue of [{ activation: "leakyrelu" }, { activation: "prelu", preluWeights: new Float32Array([0.1]) }] as Epilogue[]) {
      expectClose(conv2dForward(x, w, g, 5, epilogue), conv2dForwardRef(x, w, g, 5, epilogue), g.patchSize);
    }
  });
});

describe("applyEpilogue on special values", () => {
  const values = new Float32Array([-Infinity, Infinity, NaN, -0, 0, -1e30, 1e30, 5.5, 6, 6.5, -2.5, 1e-40, -1e-40, 3.4e38]);
  for (const activation of ACTIVATIONS) {
    it(`${activation} of [${Array.from(values).join(", ")}] equals the definition exactly`, () => {
      const out = new Float32Array(values.length);
      applyEpilogue(values, out, 1, { activation, leakyreluAlpha: 0.3, preluWeights: new Float32Array([0.25]) });
      const slope = activation === "prelu" ? 0.25 : 0.3;
      // +0 and -0 are not told apart: tfjs's kernels differ among themselves there
      expect(Array.from(out, (v) => v + 0)).toEqual(Array.from(values, (v) => Math.fround(activationRef(activation, v, slope)) + 0));
    });
  }
});

describe("conv2d edge shapes and argument checks", () => {
  it("x=[0,5,5,3] and x=[2,5,5,0] give empty or zero results", () => {
    const empty = convGeometry([0, 5, 5, 3], 3, { padding: "same" });
    expect(conv2dForward(new Float32Array(0), new Float32Array(27 * 4), empty, 4).length).toBe(0);
    expect(Array.from(conv2dBackpropFilter(new Float32Array(0), new Float32Array(0), empty, 4))).toEqual(new Array(27 * 4).fill(0));
    const noChannels = convGeometry([2, 5, 5, 0], 3, { padding: "same" });
    const y = conv2dForward(new Float32Array(0), new Float32Array(0), noChannels, 2, { bias: new Float32Array([1, -1]), activation: "relu" });
    expect(Array.from(y)).toEqual(new Array(50).fill([1, 0]).flat());
    expect(Array.from(conv2dBackpropInput(new Float32Array(25 * 2 * 2), new Float32Array(0), noChannels, 2))).toEqual([]);
  });
  it("rejects arrays of the wrong size, naming the expected shape", () => {
    const g = convGeometry([1, 5, 5, 3], 3, { padding: "valid" });
    expect(() => conv2dForward(new Float32Array(74), new Float32Array(27 * 2), g, 2)).toThrow(
      /conv2dForward: x must hold the NHWC input \[1, 5, 5, 3\] \(75 elements\), but has 74/,
    );
    expect(() => conv2dForward(new Float32Array(75), new Float32Array(27), g, 2)).toThrow(/w must hold the HWIO filter \[3, 3, 3, 2\] \(54 elements\)/);
    expect(() => conv2dBackpropInput(new Float32Array(17), new Float32Array(54), g, 2)).toThrow(/conv2dBackpropInput: dy must hold the NHWC output \[1, 3, 3, 2\] \(18 elements\)/);
    expect(() => conv2dBackpropFilter(new Float32Array(75), new Float32Array(18), g, 2, new Float32Array(5))).toThrow(/conv2dBackpropFilter: out must hold the HWIO filter/);
  });
  it("rejects a bad epilogue, naming the rule", () => {
    const g = convGeometry([1, 5, 5, 3], 3, { padding: "valid" });
    const [x, w] = [new Float32Array(75), new Float32Array(54)];
    expect(() => conv2dForward(x, w, g, 2, { bias: new Float32Array(3) })).toThrow(/bias must have 1 or outChannels = 2 values, but has 3/);
    expect(() => conv2dForward(x, w, g, 2, { activation: "tanh" as never })).toThrow(/activation must be one of linear, relu/);
    expect(() => conv2dForward(x, w, g, 2, { activation: "prelu" })).toThrow(/activation 'prelu' needs preluWeights/);
  });
  it("rejects a chunk size that is not a positive integer", () => {
    const g = convGeometry([1, 5, 5, 3], 3, { padding: "valid" });
    expect(() => conv2dForwardOp(new Float32Array(75), new Float32Array(54), g, 2, {}, undefined, { chunkBytes: 0 })).toThrow(
      /conv2dForward: chunkBytes must be an integer >= 1, but got 0/,
    );
  });
  it("rejects a hand-edited geometry", () => {
    const g = { ...convGeometry([1, 5, 5, 3], 3, { padding: "valid" }), rows: 10 };
    expect(() => conv2dForward(new Float32Array(75), new Float32Array(54), g, 2)).toThrow(/conv2dForward: geometry.rows \(10\)/);
  });
});
