import * as tf from "@tensorflow/tfjs-core";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { afterEach, describe, expect, it } from "vitest";
import { selectBackend } from "../../src/train/backend-select.js";

/** An importer for which the named packages are absent, the way Node reports a missing package. */
function absent(...names: string[]): (specifier: string) => Promise<unknown> {
  return async (specifier) => {
    if (names.includes(specifier)) {
      throw Object.assign(new Error(`Cannot find package '${specifier}' imported from backend-select.js`), { code: "ERR_MODULE_NOT_FOUND" });
    }
    return import(specifier);
  };
}

/** An importer where tfjs-node "installs" by registering a stand-in "tensorflow" backend. */
const fakeTfjsNode = async (specifier: string): Promise<unknown> => {
  if (specifier === "@tensorflow/tfjs-node") {
    tf.registerBackend("tensorflow", () => new MathBackendCPU(), 3);
    return {};
  }
  return absent("@tensorflow/tfjs-node-gpu")(specifier);
};

const TFJS_NODE = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"];

describe("selectBackend", () => {
  afterEach(() => {
    if (tf.findBackendFactory("tensorflow")) tf.removeBackend("tensorflow");
  });

  it("without tfjs-node, picks ours", async () => {
    const name = await selectBackend({ importModule: absent(...TFJS_NODE) });
    expect(name).toBe("pocketflow");
    expect(tf.getBackend()).toBe("pocketflow");
  });

  it("with tfjs-node but not tfjs-node-gpu, picks tfjs-node", async () => {
    expect(await selectBackend({ importModule: fakeTfjsNode })).toBe("tensorflow");
    expect(tf.getBackend()).toBe("tensorflow");
  });

  it("explicit 'tensorflow' without tfjs-node is an error naming the choice, the reason and the fix", async () => {
    const attempt = selectBackend({ backend: "tensorflow", importModule: absent(...TFJS_NODE) });
    await expect(attempt).rejects.toThrow(/backend "tensorflow" is unavailable: @tensorflow\/tfjs-node is not installed; install it with `npm install @tensorflow\/tfjs-node`.*choose "pocketflow"/);
  });

  it("explicit 'tensorflow-gpu' without tfjs-node-gpu names the gpu package", async () => {
    const attempt = selectBackend({ backend: "tensorflow-gpu", importModule: absent(...TFJS_NODE) });
    await expect(attempt).rejects.toThrow(/"tensorflow-gpu" is unavailable: @tensorflow\/tfjs-node-gpu is not installed; install it with `npm install @tensorflow\/tfjs-node-gpu`/);
  });

  it("a package that is installed but fails to load says so", async () => {
    const broken = async (): Promise<unknown> => {
      throw new Error("libtensorflow.so.2: cannot open shared object file");
    };
    await expect(selectBackend({ backend: "tensorflow", importModule: broken }))
      .rejects.toThrow(/@tensorflow\/tfjs-node is installed but failed to load \(libtensorflow\.so\.2/);
  });

  it("a package that loads but registers no backend here says so", async () => {
    const elsewhere = async (): Promise<unknown> => ({});
    await expect(selectBackend({ backend: "tensorflow", importModule: elsewhere }))
      .rejects.toThrow(/registered no "tensorflow" backend with this copy of @tensorflow\/tfjs-core/);
  });

  it("explicit 'cpu' and 'pocketflow' are always available", async () => {
    expect(await selectBackend({ backend: "cpu" })).toBe("cpu");
    expect(await selectBackend({ backend: "pocketflow" })).toBe("pocketflow");
  });

  it("an unknown choice lists the valid ones", async () => {
    const attempt = selectBackend({ backend: "webgpu" as never });
    await expect(attempt).rejects.toThrow(/backend must be one of "tensorflow-gpu", "tensorflow", "pocketflow", "cpu", "wasm", but got "webgpu"/);
  });
});
