// Learning-rate schedules, as a pure function of the step, so that a resumed run computes the
// same rate at the same step. PocketFlow's ResNet-CIFAR recipe is piecewise (x0.1 at fixed
// epochs); cosine decay (Loshchilov & Hutter 2017) is the common alternative. A linear warm-up
// (Goyal et al. 2017) ramps from warmupStartFactor·lr to the schedule over the first epochs.

export type LearningRateSchedule =
  | { kind: "constant"; learningRate: number }
  /** learningRate · decay^(number of boundaries passed); boundaries in epochs. */
  | { kind: "piecewise"; learningRate: number; boundaryEpochs: number[]; decay: number }
  /** learningRate · (final + (1 - final)·(1 + cos(π·t)) / 2), t = progress after warm-up. */
  | { kind: "cosine"; learningRate: number; finalFactor?: number };

export interface ScheduleOptions {
  schedule: LearningRateSchedule;
  /** Epochs of linear warm-up (may be fractional; 0: none). */
  warmupEpochs?: number;
  /** Warm-up starts at this fraction of the learning rate (default 0.1). */
  warmupStartFactor?: number;
}

function checkFinitePositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`learning-rate schedule: ${name} must be a positive number, but got ${value}`);
}

/** Checks a schedule once, where the trainer receives it. */
export function checkSchedule(options: ScheduleOptions): void {
  const { schedule, warmupEpochs = 0, warmupStartFactor = 0.1 } = options;
  checkFinitePositive("learningRate", schedule.learningRate);
  if (!(warmupEpochs >= 0)) throw new RangeError(`learning-rate schedule: warmupEpochs must be >= 0, but got ${warmupEpochs}`);
  if (!(warmupStartFactor >= 0 && warmupStartFactor <= 1)) {
    throw new RangeError(`learning-rate schedule: warmupStartFactor must be in 0..1, but got ${warmupStartFactor}`);
  }
  if (schedule.kind === "piecewise") {
    checkFinitePositive("decay", schedule.decay);
    const sorted = schedule.boundaryEpochs.every((epoch, i, all) => epoch > 0 && (i === 0 || epoch > all[i - 1]));
    if (!sorted) throw new RangeError(`learning-rate schedule: boundaryEpochs must be positive and increasing, but got [${schedule.boundaryEpochs.join(", ")}]`);
  } else if (schedule.kind === "cosine") {
    const final = schedule.finalFactor ?? 0;
    if (!(final >= 0 && final <= 1)) throw new RangeError(`learning-rate schedule: finalFactor must be in 0..1, but got ${final}`);
  } else if (schedule.kind !== "constant") {
    throw new RangeError(`learning-rate schedule: unknown kind '${(schedule as { kind: string }).kind}'; use 'constant', 'piecewise' or 'cosine'`);
  }
}

/**
 * The learning rate for the step that starts at `epoch` (fractional: step / stepsPerEpoch) of a
 * run of `totalEpochs` epochs.
 */
export function learningRateAt(options: ScheduleOptions, epoch: number, totalEpochs: number): number {
  const { schedule, warmupEpochs = 0, warmupStartFactor = 0.1 } = options;
  let rate: number;
  switch (schedule.kind) {
    case "constant":
      rate = schedule.learningRate;
      break;
    case "piecewise": {
      const passed = schedule.boundaryEpochs.filter((boundary) => epoch >= boundary).length;
      rate = schedule.learningRate * schedule.decay ** passed;
      break;
    }
    case "cosine": {
      const span = Math.max(totalEpochs - warmupEpochs, 1e-9);
      const progress = Math.min(Math.max((epoch - warmupEpochs) / span, 0), 1);
      const final = schedule.finalFactor ?? 0;
      rate = schedule.learningRate * (final + ((1 - final) * (1 + Math.cos(Math.PI * progress))) / 2);
      break;
    }
  }
  if (epoch < warmupEpochs) rate *= warmupStartFactor + ((1 - warmupStartFactor) * epoch) / warmupEpochs;
  return rate;
}
