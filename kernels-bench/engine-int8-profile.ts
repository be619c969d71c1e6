// node dist/kernels-bench/engine-int8-profile.js [--model models/resnet20-fashion-mnist] [--batch 32] [--rounds 40] [--stat min|median]
// Where the int8 engine spends its time beside the fp32 engine, step by step, on one model: the
// model is calibrated to an integer model (deploy/calibrate.ts), both programs are bound at the
// batch size in their own kernel memory, and rounds of each whole program alternate (fp32, int8,
// fp32, ...) so that both see the same load; each step is timed inside its program's run. Prints
// per node the least time over the rounds of each precision (on a shared machine, the cost
// without interference; --stat median for medians) and their ratio, then the totals. Writes nothing.
import { calibratedInt8Model, calibrationBatch } from "../src/deploy/calibrate.js";
import { lowerFloat } from "../src/deploy/engine-f32.js";
import { lowerInt8 } from "../src/deploy/engine-int8.js";
import { lifetimesOf, planArena } from "../src/deploy/engine-plan.js";
import type { EngineProgram, Runnable } from "../src/deploy/engine-step.js";
import type { CompressedModel } from "../src/graph/compressed-model.js";
import { sizeOf, type GraphNode } from "../src/graph/ir.js";
import { inferShapes } from "../src/graph/shapes.js";
import { KernelCore } from "../src/kernels/core.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";
import { loadCompressedModel } from "../src/io/compressed-model-dir.js";

interface BoundProgram {
  steps: Array<{ output: string; runnables: Runnable[] }>;
}

/** The program bound at `batch` as the engine binds it (one arena, then each step), its input filled with x. */
function bind(core: KernelCore, program: EngineProgram, batch: number, x: Float32Array): BoundProgram {
  const steps = program.steps.map((step) => ({ output: step.output, inputs: step.inputs, outputBytes: batch * step.outputBytesPerExample }));
  const input = { id: program.input.id, bytes: batch * sizeOf(program.input.shape) * 4 };
  const arena = planArena(lifetimesOf(steps, input, program.outputs.map((output) => output.id)));
  const base = core.malloc(arena.totalBytes);
  const pointer = (id: string): number => base + (arena.offsets.get(id) as number);
  core.view(Float32Array, pointer(program.input.id), x.length).set(x);
  return { steps: program.steps.map((step) => ({ output: step.output, runnables: step.bind(batch, { inputs: step.inputs.map(pointer), output: pointer(step.output) }) })) };
}

/** One run of the program; adds each step's milliseconds to `times` by step output. */
function timedRun(program: BoundProgram, times: Map<string, number[]>, round: number): void {
  for (const step of program.steps) {
    const start = performance.now();
    for (const run of step.runnables) run();
    const list = times.get(step.output) ?? [];
    list[round] = (list[round] ?? 0) + performance.now() - start;
    times.set(step.output, list);
  }
}

let useMedian = false;

/** The least value, or the median with --stat median. */
const statistic = (values: number[]): number => {
  const sorted = values.filter((v) => v !== undefined).sort((a, b) => a - b);
  return (useMedian ? sorted[Math.floor(sorted.length / 2)] : sorted[0]) ?? 0;
};

function describeNode(node: GraphNode | undefined, shapes: Map<string, number[]>): string {
  if (node === undefined) return "";
  const shape = (id: string): string => (shapes.get(id) ?? []).join("×");
  const window = node.op === "conv2d" || node.op === "depthwiseConv2d" ? ` ${node.kernelSize.join("×")}/${node.strides[0]}` : "";
  return `${node.op}${window} ${node.inputs.map(shape).join("+")} → ${shape(node.id)}`;
}

function profile(model: CompressedModel, batch: number, rounds: number): void {
  const int8 = calibratedInt8Model(model);
  if (int8 === undefined) throw new Error("engine-int8-profile: the model cannot be made an integer model");
  const input = int8.graph.nodes.find((node) => node.op === "input");
  const x = calibrationBatch(input?.op === "input" ? input.shape : [], batch, 5);
  const [coreF, coreQ] = [new KernelCore(), new KernelCore()];
  const float = bind(coreF, lowerFloat(int8.graph, coreF, { finalSoftmax: false }), batch, x);
  const integer = bind(coreQ, lowerInt8(int8, coreQ, { finalSoftmax: false }), batch, x);
  const [timesF, timesQ] = [new Map<string, number[]>(), new Map<string, number[]>()];
  for (let warm = 0; warm < 3; warm++) {
    timedRun(float, new Map(), 0);
    timedRun(integer, new Map(), 0);
  }
  for (let round = 0; round < rounds; round++) {
    timedRun(float, timesF, round);
    timedRun(integer, timesQ, round);
  }
  const shapes = inferShapes(int8.graph) as Map<string, number[]>;
  const byId = new Map(int8.graph.nodes.map((node) => [node.id, node]));
  const ids = [...new Set([...timesQ.keys(), ...timesF.keys()])];
  let [totalF, totalQ] = [0, 0];
  const totalsOf = (times: Map<string, number[]>): number => statistic(Array.from({ length: rounds }, (_, r) => [...times.values()].reduce((s, list) => s + (list[r] ?? 0), 0)));
  for (const id of ids) {
    const [f, q] = [statistic(timesF.get(id) ?? [0]), statistic(timesQ.get(id) ?? [0])];
    totalF += f;
    totalQ += q;
    const ratio = f > 0 ? (q / f).toFixed(2) : "-";
    console.log(`${id.padEnd(28)} ${describeNode(byId.get(id), shapes).padEnd(52)} fp32 ${f.toFixed(3).padStart(7)} ms  int8 ${q.toFixed(3).padStart(7)} ms  ${ratio}x`);
  }
  console.log(`sum over steps: fp32 ${totalF.toFixed(2)} ms, int8 ${totalQ.toFixed(2)} ms (${(totalQ / totalF).toFixed(2)}x)`);
  console.log(`whole runs:          fp32 ${totalsOf(timesF).toFixed(2)} ms, int8 ${totalsOf(timesQ).toFixed(2)} ms (${(totalsOf(timesQ) / totalsOf(timesF)).toFixed(2)}x)`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const option = (name: string, fallback: string): string => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
  enableRelaxedSimd();
  useMedian = option("--stat", "min") === "median";
  const { model } = await loadCompressedModel(option("--model", "models/resnet20-fashion-mnist"));
  profile(model, Number(option("--batch", "32")), Number(option("--rounds", "40")));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
