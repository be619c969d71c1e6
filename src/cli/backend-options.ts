// Options every compute command shares: which tfjs backend, how many threads ours uses, and
// --json; and the one place that activates the chosen backend.
import { BACKEND_NAME } from "../backend/backend.js";
import { setBackendThreads } from "../backend/executor.js";
import { BACKEND_CHOICES, selectBackend, type BackendChoice } from "../train/backend-select.js";
import type { OptionSpec, ParsedOptions } from "./args.js";

export const JSON_OPTION: OptionSpec = { name: "json", kind: "flag", help: "print one JSON summary object as the last stdout line" };

export const BACKEND_OPTIONS: OptionSpec[] = [
  { name: "backend", kind: "string", choices: BACKEND_CHOICES, help: "tfjs backend", defaultText: "tensorflow-gpu, tensorflow, then pocketflow" },
  { name: "threads", kind: "integer", min: 1, help: "threads of the pocketflow backend", defaultText: "1" },
];

/** Sets up the backend named by --backend (or the best one) and --threads; returns its tfjs name. */
export async function activateBackend(o: ParsedOptions): Promise<string> {
  const backend = await selectBackend({ backend: o.backend as BackendChoice | undefined });
  if (o.threads !== undefined && backend === BACKEND_NAME) setBackendThreads(o.threads as number);
  return backend;
}
