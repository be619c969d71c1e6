// The option parser and the progress lines of the CLI.
import { describe, expect, it } from "vitest";
import { optionsHelp, parseOptions, requireOptions, type OptionSpec } from "../../src/cli/args.js";
import { formatDuration, formatEpoch, formatStep, ProgressReporter } from "../../src/cli/progress.js";

const specs: OptionSpec[] = [
  { name: "net", kind: "string", choices: ["lenet", "resnet20"], help: "net" },
  { name: "epochs", kind: "integer", min: 1, help: "epochs", defaultText: "10" },
  { name: "lr", kind: "number", min: 0, help: "rate" },
  { name: "json", kind: "flag", help: "json" },
];

describe("parseOptions", () => {
  it("reads --name value, --name=value and flags", () => {
    expect(parseOptions("t", ["--net", "lenet", "--epochs=3", "--lr", "1e-3", "--json"], specs)).toEqual({ net: "lenet", epochs: 3, lr: 0.001, json: true });
  });

  it("names the option, the rule and the value of every mistake", () => {
    expect(() => parseOptions("t", ["--epochs", "0"], specs)).toThrow("t: --epochs must be an integer >= 1, but got '0'");
    expect(() => parseOptions("t", ["--epochs", "2.5"], specs)).toThrow("--epochs must be an integer >= 1, but got '2.5'");
    expect(() => parseOptions("t", ["--lr", "fast"], specs)).toThrow("--lr must be a number >= 0, but got 'fast'");
    expect(() => parseOptions("t", ["--net", "vgg"], specs)).toThrow("--net must be one of lenet, resnet20, but got 'vgg'");
    expect(() => parseOptions("t", ["--frob"], specs)).toThrow("unknown option --frob; it takes --net, --epochs, --lr, --json");
    expect(() => parseOptions("t", ["--net"], specs)).toThrow("--net needs a value");
    expect(() => parseOptions("t", ["lenet"], specs)).toThrow("unexpected argument 'lenet'");
    expect(() => parseOptions("t", ["--json=1"], specs)).toThrow("--json is a flag and takes no value");
    expect(() => requireOptions("t", { net: "lenet" }, ["net", "epochs"])).toThrow("t: missing --epochs");
  });

  it("prints a help table with choices and defaults", () => {
    const help = optionsHelp(specs);
    expect(help).toMatch(/--net lenet\|resnet20\s+net/);
    expect(help).toMatch(/--epochs N\s+epochs \(default: 10\)/);
  });
});

describe("progress", () => {
  const step = { epoch: 2, epochs: 30, step: 120, stepsPerEpoch: 480, globalStep: 1080, totalSteps: 14400, loss: 0.31234, accuracy: 0.9123, learningRate: 0.1, imagesPerSecond: 2400.4, etaSeconds: 80 };

  it("formats a step line and an epoch line", () => {
    expect(formatStep(step, 8)).toBe("epoch 3/30 [##......] 120/480 loss 0.3123 acc 91.2% lr 0.100 2400 img/s ETA 1m20s");
    expect(formatEpoch({ epoch: 3, loss: 0.3, accuracy: 0.9, validationLoss: 0.35, validationAccuracy: 0.88, learningRate: 0.1, seconds: 45 }, 30))
      .toBe("epoch 3/30 loss 0.3000 acc 90.0% val_loss 0.3500 val_acc 88.0% (45s)");
    expect([5, 65, 3725, Number.NaN].map(formatDuration)).toEqual(["5s", "1m05s", "1h02m", "?"]);
  });

  it("redraws one line on a terminal and writes a line per interval into a pipe", () => {
    const tty: string[] = [];
    const onTerminal = new ProgressReporter({ isTTY: true, write: (t) => tty.push(t) });
    onTerminal.step(step);
    onTerminal.step(step);
    expect(tty).toHaveLength(2);
    expect(tty[0].startsWith("\r")).toBe(true);
    let now = 0;
    const piped: string[] = [];
    const toPipe = new ProgressReporter({ write: (t) => piped.push(t) }, 1000, () => now);
    for (now = 1000; now < 5000; now += 250) toPipe.step(step);
    expect(piped).toHaveLength(4);
    expect(piped.every((line) => line.endsWith("\n") && !line.includes("\r"))).toBe(true);
  });
});
