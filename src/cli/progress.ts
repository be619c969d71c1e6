// Training progress on stderr: on a terminal one line redrawn in place (epoch, bar, step, loss,
// accuracy, learning rate, images/s, ETA); into a file or pipe, a line every few seconds, so
// logs stay readable. stdout is left to results (and the --json summary line).
import type { EpochMetrics } from "../train/checkpoint.js";
import type { StepProgress } from "../train/trainer.js";

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

const percent = (fraction: number): string => `${(100 * fraction).toFixed(1)}%`;

export function formatStep(p: StepProgress, barWidth = 20): string {
  const filled = Math.round((barWidth * p.step) / p.stepsPerEpoch);
  const bar = `[${"#".repeat(filled)}${".".repeat(barWidth - filled)}]`;
  return (
    `epoch ${p.epoch + 1}/${p.epochs} ${bar} ${p.step}/${p.stepsPerEpoch} loss ${p.loss.toFixed(4)} acc ${percent(p.accuracy)} ` +
    `lr ${p.learningRate.toPrecision(3)} ${Math.round(p.imagesPerSecond)} img/s ETA ${formatDuration(p.etaSeconds)}`
  );
}

export function formatEpoch(m: EpochMetrics, epochs: number): string {
  const validation = m.validationAccuracy === undefined ? "" : ` val_loss ${m.validationLoss?.toFixed(4)} val_acc ${percent(m.validationAccuracy)}`;
  return `epoch ${m.epoch}/${epochs} loss ${m.loss.toFixed(4)} acc ${percent(m.accuracy)}${validation} (${formatDuration(m.seconds)})`;
}

export interface ProgressWriter {
  isTTY?: boolean;
  write(text: string): unknown;
}

export class ProgressReporter {
  private lastLine = 0;

  constructor(
    private readonly stream: ProgressWriter = process.stderr,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  step(progress: StepProgress): void {
    if (this.stream.isTTY === true) {
      this.stream.write(`\r${formatStep(progress)}\x1b[K`);
    } else if (this.now() - this.lastLine >= this.intervalMs) {
      this.lastLine = this.now();
      this.stream.write(`${formatStep(progress)}\n`);
    }
  }

  epoch(metrics: EpochMetrics, epochs: number): void {
    this.stream.write(`${this.stream.isTTY === true ? "\r" : ""}${formatEpoch(metrics, epochs)}${this.stream.isTTY === true ? "\x1b[K" : ""}\n`);
  }

  message(text: string): void {
    this.stream.write(`${text}\n`);
  }
}
