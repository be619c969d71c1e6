// scripts/onnx-test-data.sh, which `npm test` runs first so that the int8 conformance test finds
// Debian's libonnx-testdata on a fresh machine. Run on a copy whose data directory is a temp
// folder, with apt-get, id and sleep replaced by stubs that log their calls.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const SCRIPT = "scripts/onnx-test-data.sh";
let root: string;
let dataDir: string;
let bin: string;
let log: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "pf-onnx-data-"));
  dataDir = join(root, "node");
  bin = join(root, "bin");
  log = join(root, "calls.log");
  mkdirSync(bin);
  for (const tool of ["env", "seq", "mkdir", "touch"]) {
    symlinkSync(spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim(), join(bin, tool));
  }
  stub("sleep", "");
  stub("id", "echo 0");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function stub(name: string, body: string): void {
  writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${log}\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
}

function runScript() {
  const copy = join(root, "onnx-test-data.sh");
  writeFileSync(copy, readFileSync(SCRIPT, "utf8").replace(/^DIR=.*$/m, `DIR=${dataDir}`));
  const result = spawnSync("/bin/bash", [copy], { encoding: "utf8", env: { PATH: bin } });
  return { ...result, calls: existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter((line) => !line.startsWith("id ")) : [] };
}

describe("scripts/onnx-test-data.sh", () => {
  it("npm test runs it before the tests", () => {
    const { scripts } = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> };
    expect(scripts.test).toContain("bash scripts/onnx-test-data.sh && ");
  });
  it("does nothing when the test vectors are there", () => {
    mkdirSync(join(dataDir, "test_qlinearconv"), { recursive: true });
    writeFileSync(join(dataDir, "test_qlinearconv", "model.onnx"), "");
    stub("apt-get", "exit 1");
    const result = runScript();
    expect(result.status, result.stderr).toBe(0);
    expect(result.calls).toEqual([]);
  });
  it("installs libonnx-testdata with apt-get, waiting for the apt lock", () => {
    stub("apt-get", `mkdir -p ${dataDir}/test_qlinearconv && touch ${dataDir}/test_qlinearconv/model.onnx`);
    const result = runScript();
    expect(result.status, result.stderr).toBe(0);
    expect(result.calls).toEqual(["apt-get install -y -o DPkg::Lock::Timeout=60 libonnx-testdata"]);
  });
  it("fails with a clear message when it cannot install", () => {
    const noAptGet = runScript();
    expect(noAptGet.status).toBe(1);
    expect(noAptGet.stderr).toContain(`the ONNX test vectors are missing from ${dataDir} and this machine has no apt-get; install Debian's libonnx-testdata yourself`);
    stub("apt-get", "exit 100");
    const failing = runScript();
    expect(failing.status).toBe(1);
    expect(failing.stderr).toContain("apt-get could not install libonnx-testdata after 10 attempts");
  });
});
