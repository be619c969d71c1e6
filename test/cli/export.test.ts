// `pocketflow export` end to end through the built CLI: ONNX (float, int8 QDQ and QOperator) and
// tfjs with quantized weights, the option checks (exit 2 naming the flag) before any work, --force,
// and nothing written when the export fails.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PassThrough } from "node:stream";
import { UsageError } from "../../src/cli/args.js";
import { exportCommand } from "../../src/cli/export.js";
import { ProgressReporter } from "../../src/cli/progress.js";
import { saveCompressedModel } from "../../src/io/compressed-model-dir.js";
import { loadCompressedModel } from "../../src/io/compressed-model-dir.js";
import { createNet } from "../../src/nets/zoo.js";
import { maxRelativeError } from "../relative-error.js";
import { int8Model } from "../export/int8-fixture.js";
import { runOnnx, seededBatch, tfjsOutputs } from "../export/onnx-run.js";

const cli = "dist/src/cli/main.js";
const model = "models/lenet-mnist";
const run = (args: string[]) => spawnSync("node", [cli, "export", ...args], { encoding: "utf8" });
const lastJson = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trim().split("\n").at(-1) as string) as Record<string, unknown>;

let root: string;
beforeAll(async () => {
  await tf.setBackend("cpu");
  root = mkdtempSync(join(tmpdir(), "pf-export-cli-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("pocketflow export", () => {
  it("--format onnx: a float model as one .onnx file that onnxruntime runs like tfjs; an existing --out needs --force", async () => {
    const out = join(root, "lenet.onnx");
    const result = run(["--model", model, "--format", "onnx", "--out", out, "--json"]);
    expect(result.status, result.stderr).toBe(0);
    expect(lastJson(result.stdout)).toMatchObject({ command: "export", format: "onnx", flavor: "float", out });
    const { graph } = (await loadCompressedModel(model)).model;
    const x = seededBatch(graph, 2, 1);
    const onnxOut = await runOnnx(new Uint8Array(await readFile(out)), graph.nodes[0].id, x);
    expect(maxRelativeError(onnxOut[graph.outputs[0]], tfjsOutputs(graph, x)[0])).toBeLessThan(1e-4);
    const again = run(["--model", model, "--format", "onnx", "--out", out]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already exists; pass --force/);
    expect(run(["--model", model, "--format", "onnx", "--out", out, "--force"]).status).toBe(0);
  });

  it("--format tfjs --quantize-bytes 1: a tfjs directory with uint8 weights, a quarter of the float32 bytes", () => {
    const out = join(root, "lenet-tfjs");
    const result = run(["--model", model, "--format", "tfjs", "--out", out, "--quantize-bytes", "1", "--json"]);
    expect(result.status, result.stderr).toBe(0);
    const summary = lastJson(result.stdout) as { weightBytes: number; float32Bytes: number; weights: Array<{ storage: string }> };
    expect(summary.weightBytes).toBe(summary.float32Bytes / 4);
    expect(readdirSync(out)).toContain("model.json");
    const table = run(["--model", model, "--format", "tfjs", "--out", out, "--force"]);
    expect(table.stdout).toMatch(/conv\S*\/kernel\s+float32\s+\d+ bytes/);
  });

  it("an int8 model directory: QDQ by default, QOperator with --qoperator", async () => {
    const graph = createNet("lenet", { inputShape: [12, 12, 1], classes: 3, seed: 2 });
    const dir = join(root, "int8");
    await saveCompressedModel(dir, int8Model(graph, seededBatch(graph, 4, 3)));
    const qdq = run(["--model", dir, "--format", "onnx", "--out", join(root, "int8.onnx"), "--json"]);
    expect(qdq.status, qdq.stderr).toBe(0);
    expect(lastJson(qdq.stdout).flavor).toBe("qdq");
    const qop = run(["--model", dir, "--format", "onnx", "--out", join(root, "int8-qop.onnx"), "--qoperator"]);
    expect(qop.status, qop.stderr).toBe(0);
    expect(qop.stdout).toMatch(/int8 QOperator/);
  });

  it("options are checked before any work: exit 2 naming the flag", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--model", model, "--out", join(root, "x.onnx")], /missing --format/],
      [["--model", model, "--format", "keras", "--out", join(root, "x")], /--format must be one of onnx, tfjs, but got 'keras'/],
      [["--model", model, "--format", "tfjs", "--out", join(root, "x"), "--qoperator"], /--qoperator applies to --format onnx only/],
      [["--model", model, "--format", "onnx", "--out", join(root, "x.onnx"), "--quantize-bytes", "1"], /--quantize-bytes applies to --format tfjs only/],
      [["--model", model, "--format", "tfjs", "--out", join(root, "x"), "--quantize-bytes", "3"], /--quantize-bytes must be 1 \(uint8\) or 2 \(uint16\), but got 3/],
      [["--model", model, "--format", "onnx", "--out", join(root, "x.onnx"), "--qoperator", "--float"], /--qoperator and --float exclude each other/],
    ];
    // in process (a usage error is exit 2 in main.ts), then one through the CLI for the exit code
    const io = { stdout: () => undefined, progress: new ProgressReporter(new PassThrough()) };
    for (const [args, message] of cases) await expect(exportCommand(args, io), args.join(" ")).rejects.toThrow(message);
    for (const [args] of cases) await expect(exportCommand(args, io)).rejects.toBeInstanceOf(UsageError);
    writeFileSync(join(root, "a-file"), "");
    const fileOut = run(["--model", model, "--format", "tfjs", "--out", join(root, "a-file"), "--force"]);
    expect(fileOut.status).toBe(2);
    expect(fileOut.stderr).toMatch(/--out must be a directory for --format tfjs/);
    expect(fileOut.stderr).toMatch(/pocketflow export --help/);
  });

  it("a float model exported --qoperator fails naming the layer, and writes nothing", () => {
    const out = join(root, "never.onnx");
    const result = run(["--model", model, "--format", "onnx", "--out", out, "--qoperator"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/pocketflow export: int8 model '.*': \S+ '.*' breaks the integer-model contract/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(root).filter((name) => name.includes("never"))).toEqual([]);
  });

  it("--help prints its options", () => {
    expect(run(["--help"]).stdout).toMatch(/Usage: pocketflow export --model DIR --format onnx\|tfjs --out PATH[\s\S]*--quantize-bytes/);
  });
});
