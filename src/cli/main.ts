#!/usr/bin/env node
// The `pocketflow` command. Subcommands arrive with the learners; today it reports its version
// and what it can run.
import { readFileSync } from "node:fs";
import { findPackageFile } from "../kernels/package-files.js";

const HELP = `pocketflow — automatic compression of CNNs for JavaScript

Usage:
  pocketflow --version        print the version
  pocketflow --help           print this help

Benchmarks (from a checkout of the repository):
  npm run bench:kernels [-- --quick]   kernels vs plain JS, tfjs-wasm, scikit-learn and the hardware limit

The library API is documented in the README: import { quantize, gemmF32, lasso, KernelPool, ... } from "pocketflow-js".
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(findPackageFile("package.json", "reinstall the package"), "utf8")) as { version: string };
  return pkg.version;
}

export function main(argv: string[]): number {
  const [command] = argv;
  if (command === "--version" || command === "-v") {
    console.log(version());
    return 0;
  }
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    console.log(HELP);
    return 0;
  }
  console.error(`pocketflow: unknown command "${command}"; run \`pocketflow --help\` to see what is available`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
