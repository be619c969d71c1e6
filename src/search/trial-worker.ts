// The entry of a trial worker thread (trial-runner.ts): loads the model directory and the dataset
// once, split as the command split it, on its own tfjs backend, then answers each trial request
// with the candidate's measurements (and saves the winner's model where asked). A learner's error
// is answered as the trial's error; a crash or the memory limit ends the thread, which the runner
// records as the trial's failure.
import { parentPort, workerData } from "node:worker_threads";
import { computeNormalization } from "../data/batches.js";
import { splitValidation } from "../data/dataset.js";
import { loadDataset } from "../data/registry.js";
import { loadCompressedModel, saveCompressedModel } from "../io/compressed-model-dir.js";
import { learnerByName } from "../learners/registry.js";
import { selectBackend, type BackendChoice } from "../train/backend-select.js";
import { setBackendThreads } from "../backend/executor.js";
import { BACKEND_NAME } from "../backend/backend.js";
import type { TrialWorkerData } from "./trial-runner.js";
import { errorText, evaluateTrial, type TrialRequest } from "./trial.js";

const given = workerData as TrialWorkerData;

async function load() {
  const backend = await selectBackend({ backend: given.backend as BackendChoice | undefined });
  if (given.threads !== undefined && backend === BACKEND_NAME) setBackendThreads(given.threads);
  const { model, extras } = await loadCompressedModel(given.modelDir);
  const data = loadDataset(given.dataset, given.dataDir);
  const split = given.validationCount > 0 ? splitValidation(data.train, given.validationCount, given.splitSeed) : { train: data.train, validation: undefined };
  const normalization = given.normalization ?? computeNormalization(split.train);
  const preprocessing = { ...(extras.preprocessing as Record<string, unknown> | undefined), dataset: given.dataset, normalization };
  return { model, extras: { ...extras, preprocessing }, data: { train: split.train, validation: split.validation, test: data.test, normalization } };
}

const loaded = load();
loaded.catch(() => {}); // reported with the first request

parentPort?.on("message", (request: TrialRequest) => {
  const started = performance.now();
  void (async () => {
    try {
      const { model, extras, data } = await loaded;
      const outcome = await evaluateTrial(model, data, request, learnerByName);
      if (request.saveTo !== undefined && outcome.model !== undefined) await saveCompressedModel(request.saveTo, outcome.model, extras);
      parentPort?.postMessage({ metrics: outcome.metrics, seconds: outcome.seconds });
    } catch (error) {
      parentPort?.postMessage({ error: errorText(error), seconds: (performance.now() - started) / 1000 });
    }
  })();
});
