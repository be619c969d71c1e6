// Training and inference throughput (images/s) of LeNet-5, ResNet-20 and MobileNet-v2 0.5 on
// our tfjs backend against tfjs `cpu`, tfjs-wasm (inference only: it has no conv gradient
// kernels) and PyTorch on the CPU with as many threads as ours. Plus a per-kernel profile of
// one ResNet-20 training step on ours, and a check that RSS and tensor counts stay flat over
// a ResNet-20 training run.
//
// tfjs `cpu` needs seconds to minutes per step for these networks (its conv gradient kernels
// are scalar loops over TensorBuffers), so every tfjs measurement starts with steps at batch 1,
// 2, 4, ... (the warm-up) while they are cheap, estimates the full step from them, and times
// one full step only, or under a cap reports the largest small step, saying so in the note.
// tfjs cpu is always timed once; ours and tfjs-wasm are repeated when a step is short enough.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { availableParallelism } from "node:os";
import { backendThreads, setBackendThreads } from "../src/backend/executor.js";
import { BACKEND_NAME } from "../src/backend/backend.js";
import { POCKETFLOW_KERNELS, registerPocketflowBackend } from "../src/backend/register.js";
import { buildTfjsModel } from "../src/tfjs/tfjs-from-graph.js";
import { findPackageFile } from "../src/util/package-files.js";
import { createNet, type CreateNetOptions, type NetName } from "../src/nets/zoo.js";
import { addKernelTimes, entry, timeInterleaved, type BenchEntry, type BenchOptions } from "./harness.js";

const PYTHON = "/usr/bin/python3";
const LEARNING_RATE = 0.01;

export type Mode = "train" | "infer";

/** The bench's names for its networks, kept as they were so earlier results stay comparable. */
export type BenchModelName = "lenet5" | "resnet20" | "mobilenetv2-0.5";

export interface BenchModel {
  name: BenchModelName;
  /** Name for tables, e.g. "ResNet-20". */
  label: string;
  /** Input image, height × width × channels (NHWC without the batch). */
  inputShape: [number, number, number];
  classes: number;
  build: () => tfl.LayersModel;
}

/**
 * A net of the zoo as a trainable tfjs model. The softmax stays in the model, as the bench's
 * categoricalCrossentropy loss expects probabilities; batch-norm momentum 0.9 is PyTorch's
 * running-statistics momentum 0.1, which the anchor uses, so both sides normalise alike.
 */
function zooModel(name: BenchModelName, label: string, net: NetName, options: CreateNetOptions & { inputShape: [number, number, number]; classes: number }): BenchModel {
  const { inputShape, classes } = options;
  return { name, label, inputShape, classes, build: () => buildTfjsModel(createNet(net, options), { batchNormMomentum: 0.9 }) };
}

/**
 * The three networks the bench times, from the model zoo (src/nets/).
 * kernels-bench/anchors/train_torch.py builds the same three in PyTorch (same layers, widths,
 * strides and trainable parameter counts: 61,706, 272,474 and 700,490), so a throughput ratio
 * compares engines, not architectures.
 */
export const BENCH_MODELS: Record<BenchModelName, BenchModel> = {
  lenet5: zooModel("lenet5", "LeNet-5", "lenet", { inputShape: [28, 28, 1], classes: 10 }),
  resnet20: zooModel("resnet20", "ResNet-20", "resnet20", { inputShape: [32, 32, 3], classes: 10 }),
  "mobilenetv2-0.5": zooModel("mobilenetv2-0.5", "MobileNet-v2 0.5", "mobilenet-v2", { widthMultiplier: 0.5, inputShape: [32, 32, 3], classes: 10 }),
};

/**
 * One inference of `spec` on the current backend, as bench:train times it (model.predict on a
 * fixed random batch, then reading the output), after two warm-up calls.
 */
export async function warmedPredict(spec: BenchModel, batch: number): Promise<() => Promise<void>> {
  tf.env().set("CHECK_COMPUTATION_FOR_ERRORS", false);
  const model = spec.build();
  const x = tf.randomNormal([batch, ...spec.inputShape], 0, 1, "float32", 7);
  const predict = async (): Promise<void> => {
    const out = model.predict(x) as tf.Tensor;
    await out.data();
    out.dispose();
  };
  await predict();
  await predict();
  return predict;
}

/** Trainable parameters (batch-norm moving statistics excluded, as PyTorch counts). */
function trainableParameters(model: tfl.LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((p: number, d) => p * (d ?? 1), 1), 0);
}

export interface TrainBenchOptions extends BenchOptions {
  /** Models to run (default: all three; --quick: LeNet-5 and ResNet-20). */
  models?: BenchModelName[];
  /** Batch sizes (default 32 and 128; --quick: 32). */
  batches?: number[];
}

export interface KernelTime {
  kernel: string;
  ms: number;
  calls: number;
  /** Share of the profiled step's wall time. */
  share: number;
  /** Whether the pocketflow backend replaces this kernel (false: tfjs cpu's kernel runs). */
  ours: boolean;
  /** An op's custom-gradient scope, not a kernel: its time includes kernels listed apart. */
  composite: boolean;
}

export interface TrainProfile {
  model: string;
  batch: number;
  stepMs: number;
  /** Wall time outside every kernel: tfjs-layers, the tape, the optimizer's JS. */
  outsideKernelsMs: number;
  top: KernelTime[];
  note?: string;
}

export interface MemoryCheck {
  model: string;
  batch: number;
  steps: number;
  rssStartMB: number;
  rssEndMB: number;
  rssPeakMB: number;
  tensorsStart: number;
  tensorsEnd: number;
  /** RSS within max(64 MB, 10%) of the start and the same number of tensors at the end. */
  flat: boolean;
  note?: string;
}

export interface TrainBenchResult {
  threads: number;
  /** A tfjs step estimated above this many seconds is not run at full batch. */
  capSeconds: number;
  entries: BenchEntry[];
  profile: TrainProfile | string;
  memory: MemoryCheck | string;
  notes: string[];
}

/** Time limits: a tfjs step estimated above capMs is not run at full batch. */
interface Budget {
  capMs: number;
  minTimeMs: number;
  minRounds: number;
}

/** Threads our backend computes on (setBackendThreads; the caller's thread included). */
const ourThreads = (): number => backendThreads();

/** One model on one tfjs backend; data for each batch size is made on first use. */
interface Stepper {
  backend: string;
  model: tfl.LayersModel;
  step: (batch: number) => Promise<void>;
  dispose: () => void;
}

async function makeStepper(backend: string, spec: BenchModel, mode: Mode): Promise<Stepper> {
  await tf.setBackend(backend);
  const model = spec.build();
  if (mode === "train") model.compile({ optimizer: tf.train.sgd(LEARNING_RATE), loss: "categoricalCrossentropy" });
  const data = new Map<number, [tf.Tensor, tf.Tensor]>();
  const batchOf = (b: number): [tf.Tensor, tf.Tensor] => {
    let xy = data.get(b);
    if (!xy) {
      xy = tf.tidy(() => [
        tf.randomNormal([b, ...spec.inputShape], 0, 1, "float32", 7),
        tf.oneHot(tf.tensor1d(Array.from({ length: b }, (_, i) => (i * 7) % spec.classes), "int32"), spec.classes),
      ]);
      data.set(b, xy);
    }
    return xy;
  };
  return {
    backend,
    model,
    step: async (b) => {
      await tf.setBackend(backend);
      const [x, y] = batchOf(b);
      if (mode === "train") {
        await model.trainOnBatch(x, y);
      } else {
        const out = model.predict(x) as tf.Tensor;
        await out.data();
        out.dispose();
      }
    },
    dispose: () => {
      for (const xy of data.values()) tf.dispose(xy);
      model.dispose();
    },
  };
}

async function timeOnce(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

interface Measurement {
  imagesPerSecond: number;
  /** The batch measured: the one asked for, or a smaller probe when that is over the cap. */
  batch: number;
  /** Milliseconds of one step at that batch. */
  stepMs: number;
  note: string;
}

const seconds = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(1)} ms`);

interface Estimate {
  /** Estimated milliseconds of a step at the full batch. */
  fullMs: number;
  /** The largest probe run: its batch and step time. */
  batch: number;
  ms: number;
}

/**
 * Estimates a full-batch step from small ones, which also warm the code up: batch 1, then
 * doubling while a probe stays cheap (under capMs/8), extrapolated along the last two probes
 * (a step is a fixed cost plus a cost per image).
 */
async function estimate(stepper: Stepper, batch: number, capMs: number): Promise<Estimate> {
  let prev = { batch: 1, ms: await timeOnce(() => stepper.step(1)) };
  let fullMs = prev.ms * batch;
  for (let b = 2; b < batch && fullMs > capMs && prev.ms <= capMs / 8; b *= 2) {
    const next = { batch: b, ms: await timeOnce(() => stepper.step(b)) };
    const perImage = Math.max(0, (next.ms - prev.ms) / (next.batch - prev.batch));
    fullMs = next.ms + perImage * (batch - next.batch);
    prev = next;
  }
  return { fullMs, batch: prev.batch, ms: prev.ms };
}

/**
 * Measures the given steppers at full batch. One whose estimate is over the cap reports its
 * largest probe; one that may not repeat, or whose full step is too long to repeat, gets one
 * timed step; the rest are timed alternately (median of rounds).
 */
async function measure(
  steppers: Record<string, Stepper>, batch: number, budget: Budget, repeat: Record<string, boolean>,
): Promise<Record<string, Measurement>> {
  const out: Record<string, Measurement> = {};
  const repeated: Record<string, () => Promise<void>> = {};
  for (const [name, stepper] of Object.entries(steppers)) {
    const est = await estimate(stepper, batch, budget.capMs);
    if (est.fullMs > budget.capMs) {
      out[name] = {
        imagesPerSecond: (est.batch * 1000) / est.ms, batch: est.batch, stepMs: est.ms,
        note: `one step at batch ${est.batch} (${seconds(est.ms)}): batch ${batch} would take ~${seconds(est.fullMs)}, over the ${seconds(budget.capMs)} cap`,
      };
      continue;
    }
    const ms = await timeOnce(() => stepper.step(batch));
    if (!repeat[name] || ms * budget.minRounds > budget.capMs) {
      out[name] = { imagesPerSecond: (batch * 1000) / ms, batch, stepMs: ms, note: `one step (${seconds(ms)}) after warm-up steps at smaller batches` };
    } else {
      repeated[name] = () => stepper.step(batch);
    }
  }
  if (Object.keys(repeated).length > 0) {
    const medians = await timeInterleaved(repeated, budget.minTimeMs, budget.minRounds);
    const alternately = Object.keys(repeated).length > 1 ? ", timed alternately" : "";
    for (const [name, ms] of Object.entries(medians)) {
      out[name] = { imagesPerSecond: (batch * 1000) / ms, batch, stepMs: ms, note: `median step ${seconds(ms)}${alternately}` };
    }
  }
  return out;
}

/** tfjs-wasm for inference, or a note why it is not there. */
async function setUpWasm(threads: number): Promise<string | null> {
  try {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    if (threads > 1) wasm.setThreadsCount(threads);
    if (!(await tf.setBackend("wasm"))) return "tfjs-wasm backend did not initialise";
    return null;
  } catch (error) {
    return `tfjs-wasm unavailable: ${error instanceof Error ? error.message : String(error)}`;
  }
}

interface TorchRun {
  model: BenchModelName;
  batch: number;
  mode: Mode;
  params: number;
  medianSeconds: number;
}

/** Runs the PyTorch anchor over every configuration at once; a string says why it could not. */
function runTorch(runs: Array<{ model: BenchModelName; batch: number; mode: Mode }>, threads: number, quick: boolean): { torch: string; results: TorchRun[] } | string {
  if (!existsSync(PYTHON)) return `skipped: ${PYTHON} not found`;
  let script: string;
  try {
    script = findPackageFile("kernels-bench/anchors/train_torch.py", "run from the package");
  } catch {
    return "skipped: kernels-bench/anchors/train_torch.py not found";
  }
  const dir = mkdtempSync(join(tmpdir(), "pocketflow-train-"));
  try {
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ threads, minSeconds: quick ? 0.5 : 2, minRuns: 3, warmup: 2, runs }));
    const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
    const run = spawnSync(PYTHON, [script, file], { encoding: "utf8", env, timeout: quick ? 60_000 : 900_000 });
    const lastLine = (run.stdout ?? "").trim().split("\n").pop() ?? "";
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(lastLine) as Record<string, unknown>;
    } catch {
      return `skipped: the PyTorch anchor failed (${(run.stderr || run.error?.message || `status ${run.status}`).trim().split("\n").pop()})`;
    }
    if (typeof parsed.error === "string") return `skipped: ${parsed.error}`;
    return parsed as unknown as { torch: string; results: TorchRun[] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ConfigResult {
  spec: BenchModel;
  batch: number;
  mode: Mode;
  params: number;
  ours: Measurement;
  cpu: Measurement;
  wasm?: Measurement | string;
}

/** One model × batch × mode on ours, tfjs cpu and (inference) tfjs-wasm. */
async function runConfig(spec: BenchModel, batch: number, mode: Mode, budget: Budget, wasmMissing: string | null): Promise<ConfigResult> {
  const steppers: Record<string, Stepper> = { ours: await makeStepper(BACKEND_NAME, spec, mode) };
  const params = trainableParameters(steppers.ours.model);
  if (mode === "infer" && wasmMissing === null) steppers.wasm = await makeStepper("wasm", spec, mode);
  try {
    const repeated = await measure(steppers, batch, budget, { ours: true, wasm: true });
    const cpu = await makeStepper("cpu", spec, mode);
    try {
      const once = await measure({ cpu }, batch, budget, { cpu: false });
      const wasm = mode === "train" ? undefined : repeated.wasm ?? wasmMissing ?? "not run";
      return { spec, batch, mode, params, ours: repeated.ours, cpu: once.cpu, wasm };
    } finally {
      cpu.dispose();
    }
  } finally {
    for (const s of Object.values(steppers)) s.dispose();
  }
}

function entriesFor(result: ConfigResult, torch: ReturnType<typeof runTorch>, threads: number): BenchEntry[] {
  const { spec, batch, mode, ours } = result;
  const base = { kernel: `${mode} ${spec.label}`, size: `batch ${batch}`, unit: "images/s", ours: ours.imagesPerSecond };
  const out: BenchEntry[] = [];
  const cpuNote = mode === "train" ? "; tfjs cpu trains convs with scalar loops, so it is timed once" : "";
  out.push(entry({ ...base, baseline: "tfjs cpu", baselineValue: result.cpu.imagesPerSecond, note: `ours: ${ours.note}; cpu: ${result.cpu.note}${cpuNote}` }));
  if (result.wasm !== undefined) {
    const w = result.wasm;
    out.push(entry({
      ...base, baseline: "tfjs-wasm", baselineValue: typeof w === "string" ? null : w.imagesPerSecond,
      note: typeof w === "string" ? w : `ours: ${ours.note}; wasm: ${w.note}`,
    }));
  }
  const threadsText = `${threads} thread${threads === 1 ? "" : "s"}`;
  if (typeof torch === "string") {
    out.push(entry({ ...base, baseline: "PyTorch CPU", baselineValue: null, note: torch }));
  } else {
    const run = torch.results.find((r) => r.model === spec.name && r.batch === batch && r.mode === mode);
    const paramsNote = run && run.params !== result.params ? `; PARAMETER COUNTS DIFFER: ours ${result.params}, torch ${run.params}` : "";
    out.push(entry({
      ...base, baseline: `PyTorch ${torch.torch} CPU (${threadsText})`,
      baselineValue: run ? batch / run.medianSeconds : null,
      note: run ? `ours: ${ours.note}; torch median step ${seconds(run.medianSeconds * 1000)}${paramsNote}` : "no result from the anchor",
    }));
  }
  return out;
}

const OUR_KERNELS = new Set(POCKETFLOW_KERNELS.map((k) => k.kernelName));

/** The batch to run at: the one asked for when its estimate is under the cap, else the largest probe. */
function affordable(est: Estimate, batch: number, budget: Budget): { batch: number; note?: string } {
  return est.fullMs <= budget.capMs
    ? { batch }
    : { batch: est.batch, note: `batch ${est.batch}: batch ${batch} would take ~${seconds(est.fullMs)} a step, over the ${seconds(budget.capMs)} cap` };
}

/**
 * Per-kernel times of one training step on ours (tf.profile), the heaviest first. A name that
 * is no registered kernel is an op's custom-gradient scope (e.g. fusedConv2d__op): its time
 * includes the kernels it runs, which are listed too, so it is marked and left out of the sum.
 */
async function profileTrainStep(spec: BenchModel, batch: number, budget: Budget): Promise<TrainProfile> {
  const stepper = await makeStepper(BACKEND_NAME, spec, "train");
  try {
    const run = affordable(await estimate(stepper, batch, budget.capMs), batch, budget);
    await stepper.step(run.batch); // warm-up at the profiled shape
    const checking = tf.env().getBool("CHECK_COMPUTATION_FOR_ERRORS");
    tf.env().set("CHECK_COMPUTATION_FOR_ERRORS", false);
    const t0 = performance.now();
    const info = await tf.profile(async () => {
      await stepper.step(run.batch);
      return 0;
    });
    const stepMs = performance.now() - t0;
    tf.env().set("CHECK_COMPUTATION_FOR_ERRORS", checking);
    const byName = addKernelTimes(new Map(), info.kernels);
    const times = [...byName.entries()].map(([kernel, v]) => ({
      kernel, ms: v.ms, calls: v.calls, share: v.ms / stepMs,
      ours: OUR_KERNELS.has(kernel), composite: tf.getKernel(kernel, BACKEND_NAME) === undefined,
    }));
    const kernelMs = times.filter((t) => !t.composite).reduce((sum, t) => sum + t.ms, 0);
    return {
      model: spec.label, batch: run.batch, stepMs, outsideKernelsMs: Math.max(0, stepMs - kernelMs),
      top: times.sort((x, y) => y.ms - x.ms).slice(0, 12),
      ...(run.note ? { note: `profiled at ${run.note}` } : {}),
    };
  } finally {
    stepper.dispose();
  }
}

/** A callable gc when V8 lets us expose one, so RSS samples are not of garbage. */
function exposeGc(): () => void {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    if (typeof gc === "function") return gc as () => void;
  } catch {
    // fall through: samples then include garbage not yet collected
  }
  return () => {};
}

/** RSS and tensor counts over `steps` training steps on ours, within a time budget. */
async function memoryCheck(spec: BenchModel, batch: number, steps: number, budgetMs: number, budget: Budget): Promise<MemoryCheck> {
  const stepper = await makeStepper(BACKEND_NAME, spec, "train");
  try {
    const run = affordable(await estimate(stepper, batch, budget.capMs), batch, budget);
    const gc = exposeGc();
    // steady state: the first steps grow the allocator's arenas and V8's heap for good
    const warmUp = Math.max(2, Math.min(10, Math.floor(steps / 10)));
    for (let i = 0; i < warmUp; i++) await stepper.step(run.batch);
    gc();
    const mb = (bytes: number): number => bytes / (1 << 20);
    const rssStart = mb(process.memoryUsage().rss);
    const tensorsStart = tf.memory().numTensors;
    let rssPeak = rssStart;
    let done = 0;
    const start = performance.now();
    while (done < steps && (done < 2 || performance.now() - start < budgetMs)) {
      await stepper.step(run.batch);
      done++;
      rssPeak = Math.max(rssPeak, mb(process.memoryUsage().rss));
    }
    gc();
    const rssEnd = mb(process.memoryUsage().rss);
    const tensorsEnd = tf.memory().numTensors;
    const flat = tensorsEnd === tensorsStart && rssEnd - rssStart <= Math.max(64, 0.1 * rssStart);
    const notes = [
      ...(done < steps ? [`stopped after ${done} of ${steps} steps at the ${seconds(budgetMs)} budget`] : []),
      ...(run.note ? [run.note] : []),
    ];
    return {
      model: spec.label, batch: run.batch, steps: done, rssStartMB: rssStart, rssEndMB: rssEnd, rssPeakMB: rssPeak,
      tensorsStart, tensorsEnd, flat, ...(notes.length ? { note: notes.join("; ") } : {}),
    };
  } finally {
    stepper.dispose();
  }
}

/**
 * Training on 2 threads against 1: one model steps at each thread count in turn, so both counts
 * see the same machine moment (timeInterleaved); images/s from each count's median step.
 */
async function threadScaling(spec: BenchModel, batch: number, rounds: number): Promise<BenchEntry> {
  const stepper = await makeStepper(BACKEND_NAME, spec, "train");
  const before = backendThreads();
  const stepOn = (threads: number) => (): Promise<void> => {
    setBackendThreads(threads);
    return stepper.step(batch);
  };
  try {
    // the warm-up step of each count starts its pool and grows the kernels' memory
    const { one, two } = await timeInterleaved({ one: stepOn(1), two: stepOn(2) }, 0, rounds);
    return entry({
      kernel: `train ${spec.label}, 2 threads`, size: `batch ${batch}`, unit: "images/s", ours: (batch * 1000) / two,
      baseline: "ours on 1 thread", baselineValue: (batch * 1000) / one, target: ">= 1.7x", minRatio: 1.7,
      note: `median steps ${seconds(two)} on 2 threads, ${seconds(one)} on 1, over ${rounds} alternating rounds`,
    });
  } finally {
    setBackendThreads(before);
    stepper.dispose();
  }
}

async function orNote<T>(what: string, fn: () => Promise<T>): Promise<T | string> {
  try {
    return await fn();
  } catch (error) {
    return `${what} failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export async function benchTrain(opts: TrainBenchOptions, log: (line: string) => void = () => {}): Promise<TrainBenchResult> {
  const models = opts.models ?? (opts.quick ? ["lenet5", "resnet20"] : ["lenet5", "resnet20", "mobilenetv2-0.5"]);
  const batches = opts.batches ?? (opts.quick ? [32] : [32, 128]);
  const budget: Budget = opts.quick ? { capMs: 10_000, minTimeMs: 1000, minRounds: 2 } : { capMs: 60_000, minTimeMs: 3000, minRounds: 5 };
  registerPocketflowBackend();
  const threads = ourThreads();
  const wasmMissing = await setUpWasm(threads);
  const results: ConfigResult[] = [];
  for (const name of models) {
    for (const batch of batches) {
      for (const mode of ["train", "infer"] as const) {
        const t0 = performance.now();
        results.push(await runConfig(BENCH_MODELS[name], batch, mode, budget, wasmMissing));
        log(`  ${mode} ${BENCH_MODELS[name].label} batch ${batch}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      }
    }
  }
  log("  PyTorch anchor...");
  const torch = runTorch(results.map((r) => ({ model: r.spec.name, batch: r.batch, mode: r.mode })), threads, opts.quick);
  const entries = results.flatMap((r) => entriesFor(r, torch, threads));
  const resnet = BENCH_MODELS.resnet20;
  log("  profile of one ResNet-20 training step on ours...");
  const profile = await orNote("profile", () => profileTrainStep(resnet, batches[0], budget));
  log("  memory check...");
  const memory = await orNote("memory check", () => memoryCheck(resnet, batches[0], opts.quick ? 20 : 100, opts.quick ? 8000 : 600_000, budget));
  if (availableParallelism() >= 2 && models.includes("resnet20")) {
    const batch = Math.max(...batches);
    log(`  ResNet-20 training on 2 threads against 1, batch ${batch}...`);
    const scaling = await orNote("thread scaling", () => threadScaling(resnet, batch, opts.quick ? 2 : 4));
    if (typeof scaling === "string") log(`  ${scaling}`);
    else entries.push(scaling);
  }
  const notes = [
    "training on tfjs-wasm is not measured: it has no gradient kernels for convolutions (Conv2DBackpropFilter/Input, depthwise), so it cannot train these networks",
    `ours runs on ${threads} thread${threads === 1 ? "" : "s"}; PyTorch gets the same (torch.set_num_threads)`,
  ];
  return { threads, capSeconds: budget.capMs / 1000, entries, profile, memory, notes };
}
