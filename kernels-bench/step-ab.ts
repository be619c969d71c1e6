// node dist/kernels-bench/step-ab.js --a <package root> --b <package root> [--batch 128] [--rounds 10] [--min-seconds 60]
//   [--threads-a 1] [--threads-b 1] [--infer resnet20|mobilenetv2-0.5|lenet5]
// A/B of one ResNet-20 training step (resnet-step-profile.ts: 28x28x1, momentum SGD, as the
// trainer runs it) between two builds of this package, for changes that cannot be switched at
// run time (kernels, wasm, gradients). Each build runs in its own child process; the parent asks
// them for steps in turn (A B B A ...), so both see the same load on a shared machine, and
// reports the medians of the steps' own times and their ratio. With --threads-a/--threads-b the
// same build can be compared with itself on 1 and 2 threads (only one step runs at a time).
// With --infer the step is instead one inference (model.predict, as bench:train times it) of
// that bench model at the batch. Writes nothing.
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";

interface Options {
  a: string;
  b: string;
  batch: number;
  rounds: number;
  minSeconds: number;
  threadsA: number;
  threadsB: number;
  /** A bench model whose inference is the step, instead of ResNet-20's training step. */
  infer?: string;
}

function parseArgs(argv: string[]): Options {
  const text = (flag: string): string => {
    const i = argv.indexOf(flag);
    if (i < 0 || argv[i + 1] === undefined) throw new Error(`step-ab: ${flag} <package root> is required`);
    return path.resolve(argv[i + 1]);
  };
  const number = (flag: string, fallback: number): number => {
    const i = argv.indexOf(flag);
    const v = i < 0 ? fallback : Number(argv[i + 1]);
    if (!(Number.isInteger(v) && v > 0)) throw new Error(`step-ab: ${flag} must be a positive integer, but got "${argv[i + 1]}"`);
    return v;
  };
  return {
    a: text("--a"), b: text("--b"), batch: number("--batch", 128), rounds: number("--rounds", 10), minSeconds: number("--min-seconds", 60),
    threadsA: number("--threads-a", 1), threadsB: number("--threads-b", 1),
    infer: argv.includes("--infer") ? argv[argv.indexOf("--infer") + 1] : undefined,
  };
}

/** Child: builds the stepper of the package at `root` and runs one step per message. */
async function child(root: string, batch: number, threads: number, infer: string | undefined): Promise<void> {
  const load = (file: string): Promise<Record<string, unknown>> => import(pathToFileURL(path.join(root, "dist", file)).href);
  const tf = (await import("@tensorflow/tfjs-core")) as typeof import("@tensorflow/tfjs-core");
  const { registerPocketflowBackend } = (await load("src/backend/register.js")) as { registerPocketflowBackend: () => string };
  const bench = (await load("kernels-bench/resnet-step-profile.js")) as typeof import("./resnet-step-profile.js");
  const { setBackendThreads } = (await load("src/backend/executor.js")) as { setBackendThreads: (count: number) => void };
  await tf.setBackend(registerPocketflowBackend());
  setBackendThreads(threads);
  tf.env().set("CHECK_COMPUTATION_FOR_ERRORS", false);
  const step = infer === undefined ? trainStep(bench, batch) : await inferStep(tf, await load("kernels-bench/train.js"), infer, batch);
  process.on("message", async () => {
    const t0 = performance.now();
    const loss = await step();
    process.send?.({ ms: performance.now() - t0, loss });
  });
  process.send?.({ ready: true });
}

/** One ResNet-20 training step (our trainer's); returns the loss. */
function trainStep(bench: typeof import("./resnet-step-profile.js"), batch: number): () => Promise<number> {
  const stepper = bench.resnetStepper(bench.fixedBatch(batch));
  return async () => stepper.step();
}

/** One inference of a bench model on a fixed random batch; returns the first output's value. */
async function inferStep(
  tf: typeof import("@tensorflow/tfjs-core"), trainBench: Record<string, unknown>, name: string, batch: number,
): Promise<() => Promise<number>> {
  const models = trainBench.BENCH_MODELS as Record<string, { build: () => { predict: (x: unknown) => unknown }; inputShape: number[] }>;
  const spec = models[name];
  if (spec === undefined) throw new Error(`step-ab: --infer must be one of ${Object.keys(models).join(", ")}, but got "${name}"`);
  const model = spec.build();
  const x = tf.randomNormal([batch, ...spec.inputShape], 0, 1, "float32", 7);
  return async () => {
    const out = model.predict(x) as import("@tensorflow/tfjs-core").Tensor;
    const values = await out.data();
    out.dispose();
    return values[0];
  };
}

function stepOf(proc: ChildProcess): Promise<{ ms: number; loss: number }> {
  return new Promise((resolve) => {
    proc.once("message", (m) => resolve(m as { ms: number; loss: number }));
    proc.send("step");
  });
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

async function parent(options: Options): Promise<void> {
  const self = new URL(import.meta.url).pathname;
  const start = (root: string, threads: number): Promise<ChildProcess> => new Promise((resolve, reject) => {
    const inferArgs = options.infer === undefined ? [] : ["--infer", options.infer];
    const proc = fork(self, ["--child", root, "--batch", String(options.batch), "--threads", String(threads), ...inferArgs]);
    proc.once("message", () => resolve(proc));
    proc.once("exit", (code) => reject(new Error(`step-ab: the child for ${root} exited with ${code}`)));
  });
  const a = await start(options.a, options.threadsA);
  const b = await start(options.b, options.threadsB);
  const first = [await stepOf(a), await stepOf(b)];
  console.log(`first ${options.infer === undefined ? "losses" : "outputs"}: A ${first[0].loss.toFixed(6)}, B ${first[1].loss.toFixed(6)}`);
  const times = { a: [] as number[], b: [] as number[] };
  const t0 = performance.now();
  for (let round = 0; round < options.rounds || performance.now() - t0 < options.minSeconds * 1000; round++) {
    const order = round % 2 === 0 ? (["a", "b"] as const) : (["b", "a"] as const);
    for (const name of order) times[name].push((await stepOf(name === "a" ? a : b)).ms);
  }
  const [ma, mb] = [median(times.a), median(times.b)];
  const pairRatios = times.a.map((t, i) => t / times.b[i]);
  const what = options.infer === undefined ? "ResNet-20 28x28x1 training" : `${options.infer} inference`;
  console.log(`${what}, batch ${options.batch}, ${times.a.length} alternating steps each (threads: A ${options.threadsA}, B ${options.threadsB}):`);
  console.log(`  A ${ma.toFixed(1)} ms   B ${mb.toFixed(1)} ms   A/B of medians ${(ma / mb).toFixed(3)}x, median of per-round A/B ${median(pairRatios).toFixed(3)}x`);
  a.kill();
  b.kill();
}

// Our own program may turn on relaxed SIMD (the library never does), before any kernel loads.
enableRelaxedSimd();
const argv = process.argv.slice(2);
const childAt = argv.indexOf("--child");
function childMain(): Promise<void> {
  const options = parseArgs([...argv, "--a", ".", "--b", "."]);
  const at = argv.indexOf("--threads");
  return child(path.resolve(argv[childAt + 1]), options.batch, at < 0 ? 1 : Number(argv[at + 1]), options.infer);
}
const main = childAt >= 0 ? childMain() : parent(parseArgs(argv));
main.catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
