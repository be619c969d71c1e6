// Chooses the tfjs backend training runs on. Best first: TensorFlow's native library through
// tfjs-node-gpu, then tfjs-node (both optional: they cannot install where their libtensorflow
// download is unreachable), then our own backend, which needs nothing beyond this package.
// tfjs `cpu` (far too slow for CNNs) and tfjs-wasm (no conv gradients, so it cannot train
// convs) are never chosen on their own, only when named.
import * as tf from "@tensorflow/tfjs-core";
import { registerPocketflowBackend } from "../backend/register.js";

export const BACKEND_CHOICES = ["tensorflow-gpu", "tensorflow", "pocketflow", "cpu", "wasm"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface SelectBackendOptions {
  /** A named backend; when absent, the best one available. */
  backend?: BackendChoice;
  /** Loads an optional package (default: dynamic import); tests and bundlers replace it. */
  importModule?: (specifier: string) => Promise<unknown>;
}

/** A backend that could not be set up, and why, in words for the error message. */
class Unavailable extends Error {}

interface Candidate {
  /** The name tfjs knows the backend by once it is set up. */
  backendName: string;
  setUp: (importModule: (specifier: string) => Promise<unknown>) => Promise<void>;
  /** What to do about it, appended to the reason in the error for a named choice. */
  remedy: string;
}

const TFJS_NODE_NOTE = "it downloads TensorFlow's native library when it installs, so that download must be reachable";

const CANDIDATES: Record<BackendChoice, Candidate> = {
  // tfjs-node-gpu registers its backend as "tensorflow", like tfjs-node
  "tensorflow-gpu": {
    backendName: "tensorflow",
    setUp: (load) => loadPackageBackend(load, "@tensorflow/tfjs-node-gpu", "tensorflow"),
    remedy: `install it with \`npm install @tensorflow/tfjs-node-gpu\` (Linux with an NVIDIA GPU, CUDA and cuDNN; ${TFJS_NODE_NOTE})`,
  },
  tensorflow: {
    backendName: "tensorflow",
    setUp: (load) => loadPackageBackend(load, "@tensorflow/tfjs-node", "tensorflow"),
    remedy: `install it with \`npm install @tensorflow/tfjs-node\` (${TFJS_NODE_NOTE})`,
  },
  pocketflow: {
    backendName: "pocketflow",
    setUp: async () => {
      registerPocketflowBackend();
    },
    remedy: "it ships with this package; reinstall pocketflow-js",
  },
  cpu: {
    backendName: "cpu",
    setUp: async () => {
      // registerPocketflowBackend imports tfjs's cpu backend and its gradients first
      registerPocketflowBackend();
    },
    remedy: "it ships with this package's dependencies; reinstall pocketflow-js",
  },
  wasm: {
    backendName: "wasm",
    setUp: (load) => loadPackageBackend(load, "@tensorflow/tfjs-backend-wasm", "wasm"),
    remedy: "install it with `npm install @tensorflow/tfjs-backend-wasm` (note that it cannot train convolutions: it lacks their gradient kernels)",
  },
};

/** Imports an optional package that registers a tfjs backend as a side effect. */
async function loadPackageBackend(
  load: (specifier: string) => Promise<unknown>, specifier: string, backendName: string,
): Promise<void> {
  try {
    await load(specifier);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown } | null)?.code;
    const missing = (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && message.includes(specifier);
    throw new Unavailable(missing
      ? `${specifier} is not installed`
      : `${specifier} is installed but failed to load (${message.split("\n")[0]})`);
  }
  // a package resolved against another copy of tfjs-core registers its backend there, not here
  if (!tf.findBackendFactory(backendName)) {
    throw new Unavailable(`${specifier} loaded, but registered no "${backendName}" backend with this copy of @tensorflow/tfjs-core; install versions that share one (\`npm dedupe\`)`);
  }
}

/** Sets up and activates one backend; throws Unavailable with the reason when it cannot. */
async function activate(choice: BackendChoice, load: (specifier: string) => Promise<unknown>): Promise<string> {
  const candidate = CANDIDATES[choice];
  await candidate.setUp(load);
  let ok: boolean;
  try {
    ok = await tf.setBackend(candidate.backendName);
  } catch (error) {
    throw new Unavailable(`the "${candidate.backendName}" backend failed to initialise (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!ok) throw new Unavailable(`the "${candidate.backendName}" backend failed to initialise`);
  await tf.ready();
  return tf.getBackend();
}

/**
 * Activates the backend training runs on and returns its tfjs name ("tensorflow" for both
 * tfjs-node packages). Without a choice: tfjs-node-gpu, then tfjs-node, then "pocketflow".
 * A named choice that cannot be set up is an error that says why and what to install.
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<string> {
  const { backend, importModule = (specifier: string) => import(specifier) } = options;
  if (backend !== undefined && !(BACKEND_CHOICES as readonly string[]).includes(backend)) {
    throw new Error(`selectBackend: backend must be one of ${BACKEND_CHOICES.map((c) => `"${c}"`).join(", ")}, but got ${JSON.stringify(backend)}`);
  }
  if (backend !== undefined) {
    try {
      return await activate(backend, importModule);
    } catch (error) {
      if (!(error instanceof Unavailable)) throw error;
      throw unavailableError(backend, error);
    }
  }
  for (const choice of ["tensorflow-gpu", "tensorflow"] as const) {
    try {
      return await activate(choice, importModule);
    } catch (error) {
      if (!(error instanceof Unavailable)) throw error; // a bug, not an absent package
    }
  }
  try {
    return await activate("pocketflow", importModule);
  } catch (error) {
    throw error instanceof Unavailable ? unavailableError("pocketflow", error) : error;
  }
}

function unavailableError(choice: BackendChoice, reason: Unavailable): Error {
  const fallback = choice === "pocketflow" ? "" : ', or choose "pocketflow", which needs nothing more';
  return new Error(`selectBackend: backend "${choice}" is unavailable: ${reason.message}; ${CANDIDATES[choice].remedy}${fallback}`);
}
