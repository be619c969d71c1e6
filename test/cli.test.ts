import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const cli = "dist/src/cli/main.js";

describe("pocketflow CLI", () => {
  it("--version prints the package version", () => {
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(execFileSync("node", [cli, "--version"], { encoding: "utf8" }).trim()).toBe(version);
  });
  it("--help lists the commands", () => {
    expect(execFileSync("node", [cli, "--help"], { encoding: "utf8" })).toMatch(/Usage:[\s\S]*--version/);
  });
  it("an unknown command fails with a hint", () => {
    const result = spawnSync("node", [cli, "frobnicate"], { encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/unknown command "frobnicate".*--help/);
  });
});
