// The README's quick start, run as written (with assertions), so the README stays true.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  applyMask, computeQuantParams, dequantize, gemmF32, gemmF32Op, gram, KernelPool, lassoForNonZeros,
  magnitudeMask, magnitudeThreshold, perChannel, quantize,
} from "../src/index.js";
import { checkInt8Model } from "../src/deploy/int8-model.js";
import { loadCompressedModel } from "../src/io/compressed-model-dir.js";

describe("README quick start", () => {
  it("runs and does what the comments say", async () => {
    const w = new Float32Array(3 * 3 * 16 * 32).map(() => Math.random() - 0.5);
    const params = computeQuantParams(w, { bits: 4, symmetric: true }, perChannel([3, 3, 16, 32]));
    const q = quantize(w, params);
    expect(q).toBeInstanceOf(Int8Array);
    const wq = dequantize(q, params);
    for (let c = 0; c < 32; c++) {
      const values = new Set<number>();
      for (let i = c; i < wq.length; i += 32) values.add(wq[i]);
      expect(values.size).toBeLessThanOrEqual(15);
    }

    const keep = Math.round(w.length * 0.1);
    const t = magnitudeThreshold(w, keep);
    const { mask } = magnitudeMask(w, t);
    applyMask(w, mask, w);
    expect(w.filter((v) => v !== 0).length).toBe(keep);

    const X = new Float32Array(1000 * 16).map(() => Math.random());
    const y = new Float32Array(1000).map((_, i) => X[i * 16] - 2 * X[i * 16 + 3]);
    const selection = lassoForNonZeros(gram(X, 1000, 16, y), { keep: 2 });
    expect(Array.from(selection.coefficients).flatMap((b, j) => (b !== 0 ? [j] : []))).toEqual([0, 3]);

    const b = new Float32Array(16 * 4).fill(1);
    const c = gemmF32(X, b, { m: 1000, n: 4, k: 16 });
    const pool = await KernelPool.create({ threads: 2 });
    try {
      expect(Array.from(await pool.run(gemmF32Op(X, b, { m: 1000, n: 4, k: 16 }), { forceSplit: true }))).toEqual(Array.from(c));
    } finally {
      await pool.close();
    }
  });
});

describe("README main job", () => {
  it("the README's first command compresses the shipped LeNet-5 into a pruned int8 model that keeps its accuracy", async () => {
    const line = readFileSync("README.md", "utf8").split("\n").find((text) => text.startsWith("npm ci && npm run pocketflow -- compress")) as string;
    const args = line.replace("npm ci && npm run pocketflow -- ", "").split(/\s+/);
    const out = mkdtempSync(join(tmpdir(), "readme-main-job-"));
    try {
      args[args.indexOf("--out") + 1] = join(out, "lenet-int8");
      const output = execFileSync("node", ["dist/src/cli/main.js", ...args, "--json"], { encoding: "utf8" });
      const summary = JSON.parse(output.trim().split("\n").at(-1) as string) as { after: { testAccuracy: number; macs: number }; before: { macs: number }; enginePrecisions: string[] };
      expect(summary.after.macs / summary.before.macs).toBeLessThanOrEqual(0.5);
      expect(summary.after.testAccuracy).toBeGreaterThan(0.98);
      expect(summary.enginePrecisions).toEqual(["fp32", "int8"]);
      checkInt8Model((await loadCompressedModel(join(out, "lenet-int8"))).model);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
  it("the shipped LeNet-5 scores the README's 99.09% on MNIST's test set", () => {
    const output = execFileSync("node", ["dist/src/cli/main.js", "eval", "--model", "models/lenet-mnist", "--json"], { encoding: "utf8" });
    const summary = JSON.parse(output.trim().split("\n").at(-1) as string) as { accuracy: number; count: number };
    expect(summary.count).toBe(10000);
    expect((100 * summary.accuracy).toFixed(2)).toBe("99.09");
    expect(readFileSync("README.md", "utf8")).toContain("**99.09%**");
  });
  it("the shipped ResNet-20 scores the README's 92.63% on Fashion-MNIST's test set", () => {
    const output = execFileSync("node", ["dist/src/cli/main.js", "eval", "--model", "models/resnet20-fashion-mnist", "--json"], { encoding: "utf8" });
    const summary = JSON.parse(output.trim().split("\n").at(-1) as string) as { accuracy: number; count: number; dataset: string };
    expect(summary).toMatchObject({ count: 10000, dataset: "fashion-mnist" });
    expect((100 * summary.accuracy).toFixed(2)).toBe("92.63");
    expect(readFileSync("README.md", "utf8")).toContain("**92.63%**");
  }, 300_000);
});
