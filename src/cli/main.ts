#!/usr/bin/env node
// The `pocketflow` command: train, eval and info today; the learners' commands arrive with them.
// Every command takes --json and then prints one JSON summary object as its last stdout line.
import { readFileSync } from "node:fs";
import { ModelPathError } from "../io/model-path.js";
import { enableRelaxedSimd } from "../kernels/wasm-module.js";
import { findPackageFile } from "../util/package-files.js";
import { UsageError } from "./args.js";
import { BENCH_USAGE, benchCommand } from "./bench.js";
import { COMPRESS_USAGE, compressCommand } from "./compress.js";
import { EVAL_USAGE, evalCommand } from "./eval.js";
import { EXPORT_USAGE, exportCommand } from "./export.js";
import { INFO_USAGE, infoCommand } from "./info.js";
import { ProgressReporter } from "./progress.js";
import { TRAIN_USAGE, trainCommand, type CommandIO } from "./train.js";

const HELP = `pocketflow — automatic compression of CNNs for JavaScript

Usage:
  pocketflow train --net NET --dataset DATASET --out DIR [options]   train a net of the zoo
  pocketflow eval --model DIR [--dataset DATASET]                     accuracy of a model directory
  pocketflow info --model DIR                                         layers, MACs, params, size
  pocketflow compress --model DIR --learner NAME --out DIR            compress a model with a chain of learners
  pocketflow bench --model DIR [--runtime pocketflow,tfjs-wasm,...]   latency and images/s, runtimes timed alternately
  pocketflow export --model DIR --format onnx|tfjs --out PATH         ONNX (float, int8 QDQ/QOperator) or tfjs with quantized weights
  pocketflow COMMAND --help                                           a command's options
  pocketflow --version                                                print the version

Every command takes --json: one JSON summary object is then the last line of stdout.

Benchmarks (from a checkout of the repository):
  npm run bench:kernels [-- --quick]   kernels vs plain JS, tfjs-wasm, scikit-learn and the hardware limit
  npm run bench:train [-- --quick]     training and inference throughput vs tfjs and PyTorch
`;

type Command = (argv: readonly string[], io: CommandIO) => Promise<Record<string, unknown>>;

const COMMANDS: Record<string, { run: Command; usage: string; describe: (summary: Record<string, unknown>) => string }> = {
  train: {
    run: trainCommand,
    usage: TRAIN_USAGE,
    describe: (s) => `${s.net} on ${s.dataset}: test accuracy ${percent(s.testAccuracy)}, validation ${percent(s.validationAccuracy)}, ${s.steps} steps in ${Math.round(Number(s.seconds))} s${s.complete === false ? ` (stopped at step ${s.stoppedAtStep} by --max-steps: not fully trained)` : ""}; written to ${s.out}`,
  },
  eval: {
    run: evalCommand,
    usage: EVAL_USAGE,
    describe: (s) => `${s.model} on ${s.dataset} ${s.split}: accuracy ${percent(s.accuracy)}, loss ${Number(s.loss).toFixed(4)} (${s.count} images)`,
  },
  info: { run: infoCommand, usage: INFO_USAGE, describe: () => "" },
  compress: {
    run: compressCommand,
    usage: COMPRESS_USAGE,
    describe: (s) => `${(s.learners as string[]).join(" → ")} on ${s.dataset} in ${Math.round(Number(s.seconds))} s; written to ${s.out}`,
  },
  bench: { run: benchCommand, usage: BENCH_USAGE, describe: () => "" },
  export: { run: exportCommand, usage: EXPORT_USAGE, describe: () => "" },
};

function percent(value: unknown): string {
  return typeof value === "number" ? `${(100 * value).toFixed(2)}%` : "n/a";
}

function version(): string {
  const pkg = JSON.parse(readFileSync(findPackageFile("package.json", "reinstall the package"), "utf8")) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-v") {
    console.log(version());
    return 0;
  }
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(HELP);
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    console.error(`pocketflow: unknown command "${name}"; run \`pocketflow --help\` to see what is available`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.usage);
    return 0;
  }
  const io: CommandIO = { stdout: (line) => console.log(line), progress: new ProgressReporter(process.stderr) };
  try {
    const summary = await command.run(rest, io);
    const text = command.describe(summary);
    if (rest.includes("--json")) console.log(JSON.stringify(summary));
    else if (text !== "") console.log(text);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError) {
      console.error(`${message}\nrun \`pocketflow ${name} --help\` for its options`);
      return 2;
    }
    console.error(`pocketflow ${name}: ${message}`);
    return error instanceof ModelPathError ? 2 : 1; // a wrong --model path is the user's to fix, like a usage error
  }
}

// Our own program may turn on relaxed SIMD (the library never does), before any kernel loads.
enableRelaxedSimd();
// Worker threads of the backend's pool would keep the process alive; the command is done.
main(process.argv.slice(2)).then((code) => process.exit(code));
