// scripts/test-data.sh, which `npm test` runs first so that the tests find Debian's Fashion-MNIST
// on a fresh machine. Run on a copy whose data directory is a temp folder, with apt-get, sudo,
// id and sleep replaced by stubs that log their calls: nothing is installed here.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const SCRIPT = "scripts/test-data.sh";
let root: string;
let dataDir: string;
let bin: string;
let log: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "pf-test-data-"));
  dataDir = join(root, "fashion-mnist");
  bin = join(root, "bin");
  log = join(root, "calls.log");
  mkdirSync(bin);
  for (const tool of ["env", "seq", "mkdir", "touch"]) {
    const found = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    symlinkSync(found, join(bin, tool));
  }
  stub("sleep", "");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function stub(name: string, body: string): void {
  writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${log}\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
}

/** Runs a copy of the script that looks for the data in `dataDir`, with only the stubs on PATH. */
function runScript(uid: number) {
  stub("id", `echo ${uid}`);
  const copy = join(root, "test-data.sh");
  writeFileSync(copy, readFileSync(SCRIPT, "utf8").replace(/^DIR=.*$/m, `DIR=${dataDir}`));
  const result = spawnSync("/bin/bash", [copy], { encoding: "utf8", env: { PATH: bin } });
  return { ...result, calls: existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter((line) => !line.startsWith("id ")) : [] };
}

const installs = `mkdir -p ${"$DATA"} && touch ${"$DATA"}/train-images-idx3-ubyte.gz`;

describe("scripts/test-data.sh", () => {
  it("npm test runs it before the build and the tests; CI relies on it", () => {
    const { scripts } = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> };
    expect(scripts.test).toMatch(/^bash scripts\/test-data\.sh && .*vitest run$/);
    expect(readFileSync(".ci/run", "utf8")).not.toMatch(/apt-get/);
  });
  it("does nothing when the data is there", () => {
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, "train-images-idx3-ubyte.gz"), "");
    stub("apt-get", "exit 1");
    const result = runScript(0);
    expect(result.status, result.stderr).toBe(0);
    expect(result.calls).toEqual([]);
  });
  it("installs dataset-fashion-mnist with apt-get as root, waiting for the apt lock", () => {
    stub("apt-get", installs.replaceAll("$DATA", dataDir));
    const result = runScript(0);
    expect(result.status, result.stderr).toBe(0);
    expect(result.calls).toEqual(["apt-get install -y -o DPkg::Lock::Timeout=60 dataset-fashion-mnist"]);
  });
  it("uses sudo when not root, refreshes the package lists after a failure, and retries", () => {
    stub("sudo", `"$@"`);
    stub("apt-get", `[ -e ${root}/failed ] && { ${installs.replaceAll("$DATA", dataDir)}; exit 0; }; touch ${root}/failed; exit 100`);
    const result = runScript(1000);
    expect(result.status, result.stderr).toBe(0);
    expect(result.calls.filter((call) => call.startsWith("apt-get"))).toEqual([
      "apt-get install -y -o DPkg::Lock::Timeout=60 dataset-fashion-mnist",
      "apt-get update -o DPkg::Lock::Timeout=60",
      "apt-get install -y -o DPkg::Lock::Timeout=60 dataset-fashion-mnist",
    ]);
    expect(result.calls.filter((call) => call.startsWith("sudo"))).toHaveLength(3);
  });
  it("fails with a clear message when it cannot install", () => {
    const noAptGet = runScript(0);
    expect(noAptGet.status).toBe(1);
    expect(noAptGet.stderr).toContain(`test-data: Fashion-MNIST is missing from ${dataDir} and this machine has no apt-get; install Debian's dataset-fashion-mnist yourself`);
    stub("apt-get", "exit 100");
    const noSudo = runScript(1000);
    expect(noSudo.status).toBe(1);
    expect(noSudo.stderr).toContain("this user is not root and there is no sudo");
    const failing = runScript(0);
    expect(failing.status).toBe(1);
    expect(failing.stderr).toContain("apt-get could not install dataset-fashion-mnist after 10 attempts");
    expect(failing.calls.filter((call) => call.startsWith("apt-get install"))).toHaveLength(10);
  });
});
