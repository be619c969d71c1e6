// Measured latency of a model on one or more runtimes (what `bench` prints, and what compress
// reports before and after). The runtimes are timed alternately in one process: round r runs
// every runtime once, starting one further along each round, so a neighbour's burst of work or a
// clock change hits all of them alike and their ratio holds where absolute times do not. Every
// run's outputs are checked against the first runtime's: a runtime that is fast because it
// computes something else must not win.
import * as tf from "@tensorflow/tfjs-core";
import { backendThreads, setBackendThreads } from "../backend/executor.js";
import type { CompressedModel } from "../graph/compressed-model.js";
import type { Graph, InputNode } from "../graph/ir.js";
import { checkInteger, fail } from "../util/check.js";
import { seededRandom } from "../util/random.js";
import { isRuntimeName, RUNTIME_NAMES, runtimeOf, type LatencyInput, type LatencyRuntime, type LoadedRuntime, type RuntimeName } from "./latency-runtimes.js";

export interface LatencyOptions {
  /** Runtime names or runtime objects; the first is the reference for ratios and outputs (default ["pocketflow"]). */
  runtimes?: ReadonlyArray<RuntimeName | LatencyRuntime>;
  /** Images per batch (default 1). */
  batch?: number;
  /** Untimed rounds first, so that wasm and JIT tiers and buffer caches settle (default 2; 0 still runs one, for the reference outputs). */
  warmupRuns?: number;
  /** Timed wall time per runtime when `runs` is not given (default 1.5 s; at least 3 rounds). */
  secondsPerRuntime?: number;
  /** Exactly this many timed runs of each runtime, instead of a time budget. */
  runs?: number;
  /** Seed of the uniform [0, 1) random input (default 0). */
  seed?: number;
  /** Threads of the pocketflow backend (default: as set now, 1 unless changed). */
  threads?: number;
  /** Largest allowed output difference, relative to the largest |output| of the first runtime (default 1e-3). */
  tolerance?: number;
  /** Loads the optional runtime packages (default: dynamic import); tests replace it. */
  importModule?: (specifier: string) => Promise<unknown>;
  /** The compressed model the graph belongs to, for runtimes that need more than the graph (the int8 engine). */
  model?: CompressedModel;
}

export interface RuntimeLatency {
  runtime: string;
  /** Median wall time of one batch, outputs read back included. */
  medianMs: number;
  /** 10th and 90th percentiles (nearest rank) of the same times: the spread. */
  p10Ms: number;
  p90Ms: number;
  imagesPerSecond: number;
  /** Timed runs. */
  runs: number;
  /** medianMs over the first runtime's medianMs (1 for the first). */
  ratio: number;
  /** Largest output difference from the first runtime over all runs, relative to its largest |output|. */
  maxRelativeDifference: number;
}

export interface LatencySummary {
  batch: number;
  /** [batch, ...the input node's shape]. */
  inputShape: number[];
  /** Threads of the pocketflow backend during the runs. */
  threads: number;
  runtimes: RuntimeLatency[];
}

const MIN_TIMED_ROUNDS = 3;
const MAX_TIMED_ROUNDS = 100_000;

/** Times the graph on each runtime, alternating; see the file header. Leaves the active backend and threads as they were. */
export async function measureLatency(graph: Graph, options: LatencyOptions = {}): Promise<LatencySummary> {
  const settings = checkedSettings(options);
  const input = randomInput(graph, settings.batch, settings.seed);
  const runtimes = resolveRuntimes(options);
  const previousBackend = tf.engine().backendName as string | undefined;
  const previousThreads = backendThreads();
  const loaded: LoadedRuntime[] = [];
  try {
    for (const runtime of runtimes) loaded.push(await runtime.load(graph, input, options.model));
    const tolerances = runtimes.map((runtime) => runtime.tolerance ?? settings.tolerance);
    const samples = await timeAlternately(runtimes.map((r) => r.name), loaded, { ...settings, tolerances });
    return summarize(samples, runtimes.map((r) => r.name), input.shape, options.threads ?? previousThreads);
  } finally {
    for (const model of loaded) model.dispose();
    setBackendThreads(previousThreads);
    if (previousBackend) await tf.setBackend(previousBackend);
  }
}

/** Median ms per batch of the graph on the pocketflow backend alone, in about `seconds` (default 1). */
export async function pocketflowLatencyMs(graph: Graph, options: { batch?: number; seconds?: number; threads?: number } = {}): Promise<number> {
  const summary = await measureLatency(graph, { runtimes: ["pocketflow"], batch: options.batch, threads: options.threads, secondsPerRuntime: options.seconds ?? 1 });
  return summary.runtimes[0].medianMs;
}

interface Settings {
  batch: number;
  warmupRuns: number;
  secondsPerRuntime: number;
  runs: number | undefined;
  seed: number;
  tolerance: number;
}

function checkedSettings(options: LatencyOptions): Settings {
  const where = "measureLatency";
  const { batch = 1, warmupRuns = 2, secondsPerRuntime = 1.5, runs, seed = 0, tolerance = 1e-3, threads } = options;
  checkInteger(where, "batch", batch, 1);
  checkInteger(where, "warmupRuns", warmupRuns, 0);
  if (runs !== undefined) checkInteger(where, "runs", runs, 1);
  if (threads !== undefined) checkInteger(where, "threads", threads, 1);
  if (!(secondsPerRuntime > 0 && Number.isFinite(secondsPerRuntime))) fail(where, `secondsPerRuntime must be a finite number > 0, but got ${secondsPerRuntime}`);
  if (!(tolerance >= 0)) fail(where, `tolerance must be a number >= 0, but got ${tolerance}`);
  checkInteger(where, "seed", seed, 0, 0xffffffff);
  return { batch, warmupRuns, secondsPerRuntime, runs, seed, tolerance };
}

function resolveRuntimes(options: LatencyOptions): LatencyRuntime[] {
  const given = options.runtimes ?? ["pocketflow"];
  if (given.length === 0) fail("measureLatency", `runtimes must name at least one of ${RUNTIME_NAMES.join(", ")}, but got none`);
  const runtimes = given.map((runtime) => {
    if (typeof runtime !== "string") return runtime;
    if (!isRuntimeName(runtime)) fail("measureLatency", `unknown runtime "${runtime}"; choose from ${RUNTIME_NAMES.join(", ")}`);
    return runtimeOf(runtime, { threads: options.threads, importModule: options.importModule });
  });
  const names = runtimes.map((runtime) => runtime.name);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) fail("measureLatency", `runtime "${repeated}" is named twice; name each runtime once`);
  return runtimes;
}

/** Uniform [0, 1) values from the seed, shaped as the graph's one input node with the batch in front. */
export function randomInput(graph: Graph, batch: number, seed: number): LatencyInput {
  const inputs = graph.nodes.filter((node): node is InputNode => node.op === "input");
  if (inputs.length !== 1) fail("measureLatency", `graph '${graph.name}' must have exactly one input node to be timed, but has ${inputs.length}`);
  const shape = [batch, ...inputs[0].shape];
  const random = seededRandom(seed);
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = random();
  return { values, shape };
}

/** Runtime i's run times (ms) and its largest relative output difference from runtime 0. */
interface Samples {
  timesMs: number[][];
  differences: number[];
}

async function timeAlternately(names: string[], loaded: LoadedRuntime[], settings: Settings & { tolerances: number[] }): Promise<Samples> {
  const samples: Samples = { timesMs: names.map(() => []), differences: names.map(() => 0) };
  let reference: Float32Array[] | undefined;
  let round = 0;
  const runRound = async (timed: boolean): Promise<void> => {
    for (let k = 0; k < names.length; k++) {
      const i = (round + k) % names.length;
      await loaded[i].activate();
      const started = performance.now();
      const outputs = await loaded[i].run();
      const elapsedMs = performance.now() - started;
      if (timed) samples.timesMs[i].push(elapsedMs);
      reference ??= outputs;
      samples.differences[i] = Math.max(samples.differences[i], checkOutputs(names[i], names[0], outputs, reference, settings.tolerances[i]));
    }
    round++;
  };
  // one untimed round at least: it gives the reference outputs before any time is taken
  for (let w = 0; w < Math.max(1, settings.warmupRuns); w++) await runRound(false);
  const started = performance.now();
  const budgetMs = settings.secondsPerRuntime * 1000 * names.length;
  for (let timedRounds = 0; ; timedRounds++) {
    const done = settings.runs !== undefined
      ? timedRounds >= settings.runs
      : timedRounds >= MIN_TIMED_ROUNDS && (performance.now() - started >= budgetMs || timedRounds >= MAX_TIMED_ROUNDS);
    if (done) break;
    await runRound(true);
  }
  return samples;
}

/** The largest difference of the outputs from the reference, relative to its largest |value|; throws past the tolerance. */
function checkOutputs(name: string, referenceName: string, outputs: Float32Array[], reference: Float32Array[], tolerance: number): number {
  if (outputs.length !== reference.length) throw new Error(`measureLatency: runtime "${name}" gave ${outputs.length} outputs, but "${referenceName}" gave ${reference.length}`);
  let worst = 0;
  outputs.forEach((values, o) => {
    const expected = reference[o];
    if (values.length !== expected.length) throw new Error(`measureLatency: runtime "${name}" gave output ${o} with ${values.length} values, but "${referenceName}" gave ${expected.length}`);
    const scale = largestMagnitude(expected);
    for (let j = 0; j < values.length; j++) {
      const difference = Math.abs(values[j] - expected[j]) / scale;
      if (!(difference <= tolerance)) {
        throw new Error(`measureLatency: runtime "${name}" disagrees with "${referenceName}": output ${o}[${j}] is ${values[j]}, but ${expected[j]} there, a difference of ${difference.toExponential(2)} of the largest |output| (${scale}), over the tolerance ${tolerance}; it computes a different model, so its time means nothing`);
      }
      worst = Math.max(worst, difference);
    }
  });
  return worst;
}

function largestMagnitude(values: Float32Array): number {
  let largest = Number.MIN_VALUE; // all-zero outputs still divide
  for (const value of values) largest = Math.max(largest, Math.abs(value));
  return largest;
}

/** Nearest-rank percentile of ascending values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function median(sorted: number[]): number {
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summarize(samples: Samples, names: string[], inputShape: number[], threads: number): LatencySummary {
  const batch = inputShape[0];
  const medians = samples.timesMs.map((times) => median([...times].sort((a, b) => a - b)));
  const runtimes = names.map((runtime, i): RuntimeLatency => {
    const sorted = [...samples.timesMs[i]].sort((a, b) => a - b);
    return {
      runtime, medianMs: medians[i], p10Ms: percentile(sorted, 10), p90Ms: percentile(sorted, 90),
      imagesPerSecond: batch / (medians[i] / 1000), runs: sorted.length, ratio: medians[i] / medians[0],
      maxRelativeDifference: samples.differences[i],
    };
  });
  return { batch, inputShape, threads, runtimes };
}

/**
 * Median ms per batch of each graph on a runtime (default our backend), the graphs timed alternately in one process
 * (see measureLatency), so that a before/after ratio is not a warm-up or a busy moment. Their
 * outputs differ by design (a compressed model), so they are not cross-checked.
 */
export async function latenciesMs(graphs: readonly Graph[], options: { batch?: number; seconds?: number; runtime?: RuntimeName } = {}): Promise<number[]> {
  const runtime = runtimeOf(options.runtime ?? "pocketflow");
  return medianMsAlternately(graphs[0], graphs.map((graph, i) => ({ name: `model ${i}`, load: (_ignored, input) => runtime.load(graph, input) })), options);
}

/**
 * Median ms per batch of each runtime, timed alternately on `graph`'s input shape, their outputs
 * not cross-checked (each runtime may run a different model: before and after compression).
 */
export async function medianMsAlternately(graph: Graph, runtimes: LatencyRuntime[], options: { batch?: number; seconds?: number } = {}): Promise<number[]> {
  const summary = await measureLatency(graph, { runtimes, batch: options.batch, secondsPerRuntime: options.seconds ?? 1, tolerance: Infinity });
  return summary.runtimes.map((runtime) => runtime.medianMs);
}
