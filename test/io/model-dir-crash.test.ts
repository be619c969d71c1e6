// A save that dies at any step leaves a directory that loads whole: the old graph with its
// sidecar, or the new graph with its own, never a mix. The crash is simulated in the file
// system: after the first `crashAfter` changing calls (mkdir, open for writing, rename, rm),
// every later one fails, as if the process had died there; its cleanup handlers fail too.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { loadModel, newSidecar, appendHistory, saveModel } from "../../src/io/model-dir.js";
import { registerFileIO } from "../../src/io/register-file-io.js";
import { add, conv, everyOpGraph, input, plain } from "../graph/test-graphs.js";

const fsState = vi.hoisted(() => ({ crashAfter: Infinity, changes: 0, crashed: false }));

vi.mock("node:fs/promises", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs/promises")>();
  const dies = <A extends unknown[], R>(call: (...args: A) => Promise<R>, changes: (...args: A) => boolean = () => true) =>
    async (...args: A): Promise<R> => {
      if (changes(...args) && ++fsState.changes > fsState.crashAfter) {
        fsState.crashed = true;
        throw new Error("simulated crash");
      }
      return call(...args);
    };
  const open = dies(fs.open as (path: string, flags?: string) => ReturnType<typeof fs.open>, (_path, flags) => flags !== undefined && flags !== "r");
  return { ...fs, open, rename: dies(fs.rename), rm: dies(fs.rm), unlink: dies(fs.unlink), mkdir: dies(fs.mkdir) };
});

let dir: string;
beforeAll(async () => {
  await tf.setBackend("cpu");
  registerFileIO();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pf-crash-"));
  fsState.crashAfter = Infinity;
});
afterEach(async () => {
  fsState.crashAfter = Infinity;
  await rm(dir, { recursive: true, force: true });
});

function secondGraph() {
  return {
    name: "second",
    nodes: [input("image", [4, 4, 2]), conv("a", "image", 3, 2, 3), plain("relu", "a/relu", "a"), conv("b", "a/relu", 1, 3, 2), add("sum", "b", "b")],
    outputs: ["sum"],
  };
}

describe("a save that dies at any step", () => {
  it("leaves the old model with its sidecar or the new one with its own; the next save cleans up", async () => {
    const oldModel = { graph: everyOpGraph(), sidecar: appendHistory(newSidecar(), "train", { run: "old" }) };
    const newModel = { graph: secondGraph(), sidecar: appendHistory(newSidecar(), "prune", { run: "new" }) };
    const outcomes: string[] = [];
    for (let crashAfter = 0; ; crashAfter++) {
      await rm(dir, { recursive: true, force: true });
      await saveModel(dir, oldModel.graph, oldModel.sidecar);
      Object.assign(fsState, { changes: 0, crashed: false, crashAfter });
      // Removals after the commit are best effort, so a crash there does not fail the save.
      await saveModel(dir, newModel.graph, newModel.sidecar).catch((error: Error) => expect(error.message).toBe("simulated crash"));
      const finished = !fsState.crashed;
      fsState.crashAfter = Infinity;
      const loaded = await loadModel(dir);
      const plainModel = await tf.loadLayersModel(`file://${dir}/model.json`); // plain tfjs agrees
      if (loaded.graph.name === "every_op") {
        expect(loaded).toEqual(oldModel);
        expect(plainModel.name).toBe("every_op");
        outcomes.push("old");
      } else {
        expect(loaded).toEqual(newModel);
        expect(plainModel.name).toBe("second");
        outcomes.push("new");
      }
      plainModel.dispose();
      // Whatever was left, the next save leaves exactly its own three files.
      await saveModel(dir, newModel.graph, newModel.sidecar);
      const names = (await readdir(dir)).sort();
      expect(names).toHaveLength(3);
      expect(names[0]).toBe("model.json");
      expect(names[1].replace(/^pocketflow-(\w+)\.json$/, "$1")).toBe(names[2].replace(/^weights-(\w+)\.bin$/, "$1"));
      if (finished) break;
    }
    // Crashes before the rename of model.json keep the old model, all later ones the new one;
    // a dozen steps in all (mkdir, three temp files each opened and renamed, removals).
    const firstNew = outcomes.indexOf("new");
    expect(firstNew).toBeGreaterThan(2);
    expect(outcomes.slice(0, firstNew).every((o) => o === "old")).toBe(true);
    expect(outcomes.slice(firstNew).every((o) => o === "new")).toBe(true);
    expect(outcomes.length).toBeGreaterThan(firstNew + 1); // crashes after the commit were tried too
  });
});
