import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backendThreads, setBackendThreads } from "../../src/backend/executor.js";
import { measureLatency, pocketflowLatencyMs } from "../../src/deploy/latency.js";
import { tfjsRuntime, type LatencyRuntime, type LoadedRuntime } from "../../src/deploy/latency-runtimes.js";
import { createNet } from "../../src/nets/zoo.js";
import { selectBackend } from "../../src/train/backend-select.js";

const lenet = createNet("lenet", { seed: 3 });

/** A runtime that only records its calls and returns fixed outputs, after `delayMs`. */
function recordingRuntime(name: string, calls: string[], delayMs = 0): LatencyRuntime {
  return {
    name,
    load: async () => ({
      activate: async () => {
        calls.push(`activate ${name}`);
      },
      run: async () => {
        calls.push(`run ${name}`);
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        return [new Float32Array([1, -2, 3])];
      },
      dispose: () => calls.push(`dispose ${name}`),
    }),
  };
}

/** The pocketflow runtime, with `change` applied to its outputs from its `fromRun`-th run on. */
function alteredRuntime(name: string, fromRun: number, change: (values: Float32Array) => void): LatencyRuntime {
  const inner = tfjsRuntime("pocketflow");
  return {
    name,
    load: async (graph, input): Promise<LoadedRuntime> => {
      const loaded = await inner.load(graph, input);
      let runs = 0;
      return {
        ...loaded,
        run: async () => {
          const outputs = await loaded.run();
          if (++runs >= fromRun) change(outputs[0]);
          return outputs;
        },
      };
    },
  };
}

const missingPackage = async (specifier: string): Promise<unknown> => {
  throw Object.assign(new Error(`Cannot find package '${specifier}' imported from x`), { code: "ERR_MODULE_NOT_FOUND" });
};

describe("measureLatency", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "cpu" });
  });
  afterAll(() => setBackendThreads(1));

  it("lenet batch=4 on pocketflow and tfjs-cpu: a median, a spread, images/s and ratios that fit together", async () => {
    const summary = await measureLatency(lenet, { runtimes: ["pocketflow", "tfjs-cpu"], batch: 4, warmupRuns: 1, runs: 5 });
    expect(summary.batch).toBe(4);
    expect(summary.inputShape).toEqual([4, 28, 28, 1]);
    expect(summary.runtimes.map((r) => r.runtime)).toEqual(["pocketflow", "tfjs-cpu"]);
    for (const r of summary.runtimes) {
      expect(r.runs).toBe(5);
      expect(r.medianMs).toBeGreaterThan(0);
      expect(r.p10Ms).toBeLessThanOrEqual(r.medianMs);
      expect(r.p90Ms).toBeGreaterThanOrEqual(r.medianMs);
      expect(r.imagesPerSecond).toBeCloseTo(4000 / r.medianMs, 6);
      expect(r.maxRelativeDifference).toBeLessThan(1e-3);
    }
    const [first, second] = summary.runtimes;
    expect(first.ratio).toBe(1);
    expect(second.ratio).toBeCloseTo(second.medianMs / first.medianMs, 10);
  });

  it("tfjs-wasm computes the same logits as pocketflow (lenet batch=2)", async () => {
    const summary = await measureLatency(lenet, { runtimes: ["pocketflow", "tfjs-wasm"], batch: 2, warmupRuns: 1, runs: 2 });
    expect(summary.runtimes[1]).toMatchObject({ runtime: "tfjs-wasm", runs: 2 });
    expect(summary.runtimes[1].maxRelativeDifference).toBeLessThan(1e-3);
  });

  it("leaves no tensor behind, restores the active backend, after a success and after a failure", async () => {
    await tf.setBackend("cpu");
    const before = tf.memory().numTensors;
    await measureLatency(lenet, { runtimes: ["pocketflow", "tfjs-cpu"], warmupRuns: 1, runs: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.getBackend()).toBe("cpu");
    const wrong = alteredRuntime("wrong", 1, (values) => (values[0] += 1));
    await expect(measureLatency(lenet, { runtimes: ["pocketflow", wrong], warmupRuns: 1, runs: 2 })).rejects.toThrow(/disagrees/);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.getBackend()).toBe("cpu");
  });

  it("round r runs every runtime once, starting at runtime r mod n; each is activated before each of its runs", async () => {
    const calls: string[] = [];
    const names = ["a", "b", "c"];
    const summary = await measureLatency(lenet, { runtimes: names.map((n) => recordingRuntime(n, calls)), warmupRuns: 2, runs: 4 });
    const runs = calls.filter((call) => call.startsWith("run ")).map((call) => call.slice(4));
    expect(runs).toHaveLength(6 * 3);
    for (let round = 0; round < 6; round++) {
      const expected = names.map((_, k) => names[(round + k) % names.length]);
      expect(runs.slice(3 * round, 3 * round + 3), `round ${round}`).toEqual(expected);
    }
    calls.forEach((call, i) => {
      if (call.startsWith("run ")) expect(calls[i - 1]).toBe(`activate ${call.slice(4)}`);
    });
    expect(calls.slice(-3)).toEqual(["dispose a", "dispose b", "dispose c"]);
    expect(summary.runtimes.map((r) => r.runs)).toEqual([4, 4, 4]); // warm-up rounds are not timed
  });

  it("a runtime whose outputs differ by 1% of the largest logit is caught, naming it and the reference", async () => {
    const wrong = alteredRuntime("off-by-1%", 1, (values) => {
      const largest = Math.max(...Array.from(values, Math.abs));
      values[3] += 0.01 * largest;
    });
    await expect(measureLatency(lenet, { runtimes: ["pocketflow", wrong], warmupRuns: 1, runs: 2 }))
      .rejects.toThrow(/runtime "off-by-1%" disagrees with "pocketflow": output 0\[3\].*over the tolerance 0.001/);
  });

  it("a runtime that goes wrong only on its 4th run (a stale cache, say) is caught too: every run is checked", async () => {
    const stale = alteredRuntime("stale", 4, (values) => values.fill(0));
    await expect(measureLatency(lenet, { runtimes: ["pocketflow", stale], warmupRuns: 1, runs: 5 })).rejects.toThrow(/runtime "stale" disagrees/);
  });

  it("the time budget: about secondsPerRuntime × runtimes of timed rounds, at least 3", async () => {
    const calls: string[] = [];
    const started = performance.now();
    const summary = await measureLatency(lenet, { runtimes: [recordingRuntime("a", calls, 2), recordingRuntime("b", calls, 2)], warmupRuns: 0, secondsPerRuntime: 0.1 });
    const seconds = (performance.now() - started) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(0.2);
    expect(seconds).toBeLessThan(2);
    expect(summary.runtimes[0].runs).toBeGreaterThan(3);
    const slow = await measureLatency(lenet, { runtimes: [recordingRuntime("a", [], 30)], warmupRuns: 0, secondsPerRuntime: 0.001 });
    expect(slow.runtimes[0].runs).toBe(3);
  });

  it("threads=2 sets the pocketflow backend's threads for its runs, and puts the previous count back", async () => {
    setBackendThreads(1);
    const seen: number[] = [];
    // a second pocketflow runtime that sets no threads itself, and notes those it runs with
    const probe = alteredRuntime("probe", 1, () => seen.push(backendThreads()));
    const summary = await measureLatency(lenet, { runtimes: ["pocketflow", probe], threads: 2, warmupRuns: 0, runs: 2 });
    expect(summary.threads).toBe(2);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((threads) => threads === 2)).toBe(true);
    expect(backendThreads()).toBe(1);
  });

  it("an absent tfjs-wasm or tfjs-node is an error that says what to install", async () => {
    await expect(measureLatency(lenet, { runtimes: ["pocketflow", "tfjs-wasm"], importModule: missingPackage, runs: 1 }))
      .rejects.toThrow(/runtime "tfjs-wasm" cannot run: .*not installed.*npm install @tensorflow\/tfjs-backend-wasm/);
    await expect(measureLatency(lenet, { runtimes: ["tensorflow"], importModule: missingPackage, runs: 1 }))
      .rejects.toThrow(/runtime "tensorflow" cannot run: .*npm install @tensorflow\/tfjs-node`/);
  });

  it("bad options name the rule and the value", async () => {
    await expect(measureLatency(lenet, { runtimes: ["pocketflow", "onnx" as "pocketflow"] })).rejects.toThrow(/unknown runtime "onnx"; choose from pocketflow, tfjs-cpu, tfjs-wasm, tensorflow/);
    await expect(measureLatency(lenet, { runtimes: ["tfjs-cpu", "tfjs-cpu"] })).rejects.toThrow(/runtime "tfjs-cpu" is named twice/);
    await expect(measureLatency(lenet, { batch: 0 })).rejects.toThrow(/batch must be an integer >= 1, but got 0/);
    await expect(measureLatency(lenet, { secondsPerRuntime: 0 })).rejects.toThrow(/secondsPerRuntime must be a finite number > 0, but got 0/);
    await expect(measureLatency(lenet, { runtimes: [] })).rejects.toThrow(/at least one/);
  });

  it("pocketflowLatencyMs: the median of the pocketflow runtime within the time asked", async () => {
    const started = performance.now();
    const ms = await pocketflowLatencyMs(lenet, { batch: 2, seconds: 0.2 });
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(1000);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
