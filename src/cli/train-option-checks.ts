// Checks of `pocketflow train`'s options that depend on each other or on the data (the parser
// checks each value alone). They run before --out is created, and each names the flag the user
// typed, where the trainer's own checks would name its internal options (batchSize, ...).
import type { NetName } from "../nets/zoo.js";
import type { LearningRateSchedule } from "../train/schedule.js";
import { UsageError, type ParsedOptions } from "./args.js";

const COMMAND = "pocketflow train";
const WIDTH_NETS: readonly NetName[] = ["mobilenet-v1", "mobilenet-v2"];

/** tfjs-backend-wasm has no gradient kernels for convolutions: training on it fails at the first step. */
export function checkTrainingBackend(o: ParsedOptions): void {
  if (o.backend === "wasm") {
    throw new UsageError(`${COMMAND}: --backend wasm cannot train: tfjs-backend-wasm has no gradient kernels for convolutions; use --backend pocketflow (our SIMD backend, always available)`);
  }
}

/** --width applies to the MobileNets of the zoo, and only to a net built from scratch. */
export function checkWidth(o: ParsedOptions): void {
  if (o.width === undefined) return;
  if (o.net === undefined || !WIDTH_NETS.includes(o.net as NetName)) {
    throw new UsageError(`${COMMAND}: --width applies to --net ${WIDTH_NETS.join(" or ")} only, but got --net ${String(o.net ?? "(none)")}; drop --width`);
  }  if (!((o.width as number) > 0)) throw new UsageError(`${COMMAND}: --width must be > 0 (1 is the full net, 0.5 half its channels), but got ${String(o.width)}`);
}

/**
 * A failure of the zoo to build the net with the given --width (a net's own lower bound, e.g.
 * MobileNet-v1 needs a channel in its first layer), as a usage error naming --width.
 */
export function widthError(o: ParsedOptions, error: unknown): unknown {
  if (o.width === undefined) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new UsageError(`${COMMAND}: --width ${String(o.width)} is too small for ${String(o.net)} (the zoo says: ${reason}); pass a larger --width, e.g. 0.25, 0.5 or 1`);
}

/** --validation leaves samples to train on, and the training split holds at least one --batch-size. */
export function checkSplit(o: ParsedOptions, trainSamples: number, validationCount: number, batchSize: number): void {
  if (validationCount >= trainSamples) {
    throw new UsageError(`${COMMAND}: --validation must be smaller than the ${trainSamples} training samples, but got ${validationCount}; pass a smaller one, e.g. ${Math.floor(trainSamples / 10)} (a tenth)`);
  }
  const left = trainSamples - validationCount;
  if (batchSize > left) {
    const flag = o["batch-size"] === undefined ? `the default batch size ${batchSize}` : `--batch-size ${batchSize}`;
    const fix = o.validation === undefined ? `pass --batch-size ${left} or less` : `pass --batch-size ${left} or less, or a smaller --validation`;
    throw new UsageError(`${COMMAND}: ${flag} is larger than the ${left} training samples left after the ${validationCount} held out for validation; ${fix}`);
  }
}

/** The comma-separated epochs of --lr-boundaries; a bad entry is a usage error naming it. */
export function parseBoundaries(text: string): number[] {
  return text.split(",").map((entry) => {
    const epoch = Number(entry);
    if (entry.trim() === "" || !Number.isFinite(epoch)) {
      throw new UsageError(`${COMMAND}: --lr-boundaries must be comma-separated epochs such as '15,25', but got '${text}' ('${entry}' is not a number)`);
    }
    return epoch;
  });
}

/** The schedule flags agree with --schedule, and piecewise boundaries fall inside the run. */
export function checkScheduleOptions(o: ParsedOptions, schedule: LearningRateSchedule, epochs: number): void {
  if (!(schedule.learningRate > 0)) throw new UsageError(`${COMMAND}: --lr must be > 0, but got ${schedule.learningRate}`);
  if (schedule.kind !== "piecewise") {
    const stray = ["lr-boundaries", "lr-decay"].filter((name) => o[name] !== undefined);
    if (stray.length > 0) throw new UsageError(`${COMMAND}: ${stray.map((name) => `--${name}`).join(" and ")} apply to --schedule piecewise only, but the schedule is ${schedule.kind}; add --schedule piecewise or drop them`);
    return;
  }
  if (!(schedule.decay > 0)) throw new UsageError(`${COMMAND}: --lr-decay must be > 0, but got ${schedule.decay}`);
  // the default boundaries (50% and 75% of the epochs, rounded) are the recipe's, not checked here
  if (o["lr-boundaries"] === undefined) return;
  const boundaries = schedule.boundaryEpochs;
  const inRange = boundaries.every((epoch, i) => epoch > 0 && epoch < epochs && (i === 0 || epoch > boundaries[i - 1]));
  if (!inRange) {
    throw new UsageError(`${COMMAND}: --lr-boundaries must be increasing epochs between 0 and ${epochs} (the run's epochs), exclusive, but got '${boundaries.join(",")}'`);
  }
}

/** SGD's momentum lies in [0, 1), and only SGD takes one. */
export function checkMomentum(o: ParsedOptions): void {
  if (o.momentum === undefined) return;
  if (o.optimizer === "adam") throw new UsageError(`${COMMAND}: --momentum applies to --optimizer sgd only; drop it for adam`);
  const momentum = o.momentum as number;
  if (!(momentum < 1)) throw new UsageError(`${COMMAND}: --momentum must be in [0, 1), but got ${momentum}`);
}
