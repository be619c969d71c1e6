// Where trials run. A search runs each trial apart from its loop, in a worker thread that loads
// the model directory and the data itself: a trial that throws, crashes its thread or runs out of
// memory (the thread's resourceLimits) is recorded as failed with its error, and the search goes
// on with a fresh worker. One worker serves trials one after another while it is healthy, so the
// model and data load once. The in-process runner serves tests and learners given as objects.
import { Worker } from "node:worker_threads";
import type { Normalization } from "../data/batches.js";
import type { Dataset } from "../data/dataset.js";
import type { CompressedModel, Learner, LearnerData } from "../learners/learner.js";
import { findPackageFile } from "../util/package-files.js";
import { errorText, evaluateTrial, type TrialOutcome, type TrialRequest } from "./trial.js";

export interface TrialRunner {
  run(request: TrialRequest): Promise<TrialOutcome>;
  close(): Promise<void>;
}

/** Runs trials in this thread: no isolation (a crash ends the search); for tests and learner objects. */
export class InlineTrialRunner implements TrialRunner {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each learner has its own options
  constructor(private readonly model: CompressedModel, private readonly data: LearnerData & { test?: Dataset }, private readonly learnerByName: (name: string) => Learner<any>) {}

  async run(request: TrialRequest): Promise<TrialOutcome> {
    const started = performance.now();
    try {
      return await evaluateTrial(this.model, this.data, request, this.learnerByName);
    } catch (error) {
      return { error: errorText(error), seconds: (performance.now() - started) / 1000 };
    }
  }

  async close(): Promise<void> {}
}

/** What a trial worker loads: the model directory and the dataset, split as the command split it. */
export interface TrialWorkerData {
  modelDir: string;
  dataset: string;
  dataDir?: string;
  /** Training samples held out for validation, and the seed of the split (the model's training seed). */
  validationCount: number;
  splitSeed: number;
  normalization?: Normalization;
  /** tfjs backend choice (train/backend-select.ts) and threads of ours. */
  backend?: string;
  threads?: number;
}

export interface WorkerRunnerOptions {
  /** Heap limit of a trial worker, in MiB (default 4096): past it the trial fails, not the search. */
  memoryMb?: number;
  /** The worker script (default the package's compiled search/trial-worker.js). */
  script?: string;
}

export class WorkerTrialRunner implements TrialRunner {
  private worker: Worker | undefined;

  constructor(private readonly workerData: TrialWorkerData, private readonly options: WorkerRunnerOptions = {}) {}

  private spawn(): Worker {
    const script = this.options.script ?? findPackageFile("dist/src/search/trial-worker.js", "run `npm run build` first (trials run in the compiled worker)");
    return new Worker(script, { workerData: this.workerData, resourceLimits: { maxOldGenerationSizeMb: this.options.memoryMb ?? 4096 }, stdout: false, stderr: false });
  }

  /** Runs one trial in the worker (spawned if none is alive); a worker that fails or exits is replaced on the next trial. */
  run(request: TrialRequest): Promise<TrialOutcome> {
    const worker = this.worker ?? this.spawn();
    this.worker = worker;
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    return new Promise<TrialOutcome>((resolve) => {
      const finish = (outcome: TrialOutcome, dead: boolean) => {
        worker.off("message", onMessage).off("error", onError).off("exit", onExit);
        if (dead) {
          if (this.worker === worker) this.worker = undefined;
          void worker.terminate();
        }
        resolve(outcome);
      };
      const onMessage = (outcome: TrialOutcome) => finish({ ...outcome, seconds: outcome.seconds ?? seconds() }, false);
      const onError = (error: unknown) => finish({ error: `trial worker failed: ${errorText(error)}`, seconds: seconds() }, true);
      const onExit = (code: number) => finish({ error: `trial worker exited with code ${code} before reporting its trial (crashed or killed)`, seconds: seconds() }, true);
      worker.on("message", onMessage).on("error", onError).on("exit", onExit);
      worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
