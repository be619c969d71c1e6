import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/cli/args.js";
import { latencyTable, parseRuntimeList } from "../../src/cli/bench.js";
import type { LatencySummary } from "../../src/deploy/latency.js";

const cli = "dist/src/cli/main.js";
const model = "models/lenet-mnist";
const run = (args: string[]) => spawnSync("node", [cli, ...args], { encoding: "utf8" });
const lastJson = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trim().split("\n").at(-1) as string) as Record<string, unknown>;

describe("pocketflow bench", () => {
  it("--json: one summary line with every runtime, in the order given, the first at ratio 1", () => {
    const result = run(["bench", "--model", model, "--runtime", "pocketflow,tfjs-cpu", "--runs", "3", "--warmup", "1", "--json"]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n")).toHaveLength(1);
    const summary = lastJson(result.stdout);
    expect(summary).toMatchObject({ command: "bench", model, batch: 1, inputShape: [1, 28, 28, 1], threads: 1 });
    const runtimes = summary.runtimes as Array<Record<string, number | string>>;
    expect(runtimes.map((r) => r.runtime)).toEqual(["pocketflow", "tfjs-cpu"]);
    expect(runtimes.map((r) => r.runs)).toEqual([3, 3]);
    expect(runtimes[0].ratio).toBe(1);
    expect(runtimes[1].ratio).toBeCloseTo((runtimes[1].medianMs as number) / (runtimes[0].medianMs as number), 10);
  });

  it("the table: a row per runtime, the batch in the input shape", () => {
    const result = run(["bench", "--model", model, "--runtime", "tfjs-cpu,pocketflow", "--batch", "2", "--runs", "2", "--threads", "2"]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^runtime\s+median ms\/batch\s+p10-p90 ms\s+images\/s\s+time vs tfjs-cpu$/m);
    expect(result.stdout).toMatch(/^tfjs-cpu\s+[\d.]+\s+[\d.]+-[\d.]+\s+[\d,]+\s+1\.00x$/m);
    expect(result.stdout).toMatch(/^pocketflow\s+[\d.]+\s+[\d.]+-[\d.]+\s+[\d,]+\s+[\d.]+x$/m);
    expect(result.stdout).toMatch(/input \[2,28,28,1\]; spread: 10th-90th percentile of 2 runs; pocketflow threads: 2/);
  });

  it("an unknown or repeated --runtime exits 2 naming the choices", () => {
    const unknown = run(["bench", "--model", model, "--runtime", "pocketflow,onnx"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/--runtime takes a comma-separated list of pocketflow, tfjs-cpu, tfjs-wasm, tensorflow, engine, engine-int8, onnxruntime-node, onnxruntime-web, but got 'onnx' in 'pocketflow,onnx'/);
    expect(unknown.stderr).toMatch(/pocketflow bench --help/);
    expect(run(["bench", "--model", model, "--runtime", "tfjs-cpu,tfjs-cpu"]).status).toBe(2);
    expect(run(["bench", "--model", model, "--batch", "0"]).status).toBe(2);
  });

  it("--help prints its options", () => {
    expect(run(["bench", "--help"]).stdout).toMatch(/Usage: pocketflow bench --model DIR[\s\S]*--runtime[\s\S]*--seconds N/);
  });
});

describe("bench helpers", () => {
  it("parseRuntimeList takes spaces around the commas, rejects an empty name", () => {
    expect(parseRuntimeList("pocketflow, tfjs-wasm")).toEqual(["pocketflow", "tfjs-wasm"]);
    expect(() => parseRuntimeList("pocketflow,")).toThrow(UsageError);
  });

  it("latencyTable: ms with three significant digits, images/s grouped, ratios to two places", () => {
    const summary: LatencySummary = {
      batch: 32, inputShape: [32, 28, 28, 1], threads: 1,
      runtimes: [
        { runtime: "pocketflow", medianMs: 2.612, p10Ms: 2.14, p90Ms: 5.313, imagesPerSecond: 12251.1, runs: 9, ratio: 1, maxRelativeDifference: 0 },
        { runtime: "tfjs-cpu", medianMs: 36.34, p10Ms: 30.6, p90Ms: 147.5, imagesPerSecond: 880.6, runs: 9, ratio: 13.913, maxRelativeDifference: 1e-7 },
      ],
    };
    expect(latencyTable(summary).split("\n")).toEqual([
      "runtime     median ms/batch  p10-p90 ms  images/s  time vs pocketflow",
      "pocketflow             2.61   2.14-5.31    12,251               1.00x",
      "tfjs-cpu               36.3    30.6-148       881              13.91x",
    ]);
  });
});
