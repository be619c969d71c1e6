// LASSO channel selection on a 4096×512 design with 64 true non-zeros (seeded):
//   (a) our Gram kernel and coordinate descent against the same algorithms in plain JS;
//   (b) Gram + solve against scikit-learn's Lasso(alpha, fit_intercept=False) on the same data,
//       which must find the same support (skipped with a note without python3 + sklearn);
//   (c) the search for the α that keeps 128 of 512 against (steps × one cold solve);
//   (d) the search on correlated designs (X = F·A + noise, 8 shared factors: 4096×256 keep 128,
//       4096×512 keep 64) against scikit-learn's own penalty search (Lasso with warm_start on
//       the precomputed Gram, decades then bisection on α): exact k, the least-squares error
//       of y on the kept columns, and the time of Gram + search.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gram, lasso, lassoForNonZeros, type GramSystem } from "../src/kernels/lasso.js";
import { correlatedDesign, supportError } from "../test/kernels/correlated-design.js";
import { lassoRef } from "../src/kernels/reference.js";
import { seededRandom } from "../src/util/random.js";
import { entry, perSecond, time, type BenchEntry, type BenchOptions } from "./harness.js";

const SAMPLES = 4096;
const FEATURES = 512;
const TRUE_NON_ZEROS = 64;
const NOISE = 0.5;
const ALPHA = 0.02;
const KEEP = 128;
const PYTHON = "/usr/bin/python3";
const SIZE = `${SAMPLES}x${FEATURES}`;

interface Design {
  x: Float32Array;
  y: Float32Array;
  support: number[];
}

/** X uniform in [-1, 1), y = Xβ + uniform noise, β with TRUE_NON_ZEROS entries of ±(0.5..1.5). */
function makeDesign(seed: number): Design {
  const rand = seededRandom(seed);
  const x = new Float32Array(SAMPLES * FEATURES);
  for (let i = 0; i < x.length; i++) x[i] = rand() * 2 - 1;
  const beta = new Float64Array(FEATURES);
  const support: number[] = [];
  while (support.length < TRUE_NON_ZEROS) {
    const j = Math.floor(rand() * FEATURES);
    if (beta[j] !== 0) continue;
    beta[j] = (rand() < 0.5 ? -1 : 1) * (0.5 + rand());
    support.push(j);
  }
  support.sort((a, b) => a - b);
  const y = new Float32Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    let s = NOISE * (rand() * 2 - 1);
    for (const j of support) s += x[i * FEATURES + j] * beta[j];
    y[i] = s;
  }
  return { x, y, support };
}

/** The upper triangle of XᵀX and Xᵀy as plain JS would write them: row by row, f64 sums. */
function plainGram(x: Float32Array, y: Float32Array, n: number, p: number): { gram: Float64Array; xty: Float64Array } {
  const g = new Float64Array(p * p);
  const c = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const row = i * p;
    for (let j = 0; j < p; j++) {
      const xij = x[row + j];
      const gj = j * p;
      for (let k = j; k < p; k++) g[gj + k] += xij * x[row + k];
      c[j] += xij * y[i];
    }
  }
  for (let j = 0; j < p; j++) for (let k = j + 1; k < p; k++) g[k * p + j] = g[j * p + k];
  return { gram: g, xty: c };
}

const supportOf = (beta: ArrayLike<number>): number[] => Array.from(beta).flatMap((b, j) => (b !== 0 ? [j] : []));
const sameSet = (a: number[], b: number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const ms = (value: number): string => `${value.toFixed(1)} ms`;

function findAnchor(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const candidate = join(dir, "kernels-bench", "anchors", "lasso_sklearn.py");
    if (existsSync(candidate)) return candidate;
    const sibling = join(dir, "anchors", "lasso_sklearn.py");
    if (existsSync(sibling)) return sibling;
    dir = dirname(dir);
  }
  const fromCwd = join(process.cwd(), "kernels-bench", "anchors", "lasso_sklearn.py");
  return existsSync(fromCwd) ? fromCwd : undefined;
}

interface SklearnFit {
  bestSeconds: number;
  support: number[];
  iterations: number;
  dualGap: number;
}

/** Runs the sklearn anchor on the design; a string says why it could not. */
function runSklearn(design: Design, repeats: number): (SklearnFit & { precompute: SklearnFit; sklearn: string }) | string {
  const header = { samples: SAMPLES, features: FEATURES, alpha: ALPHA, tol: 1e-4, maxIter: 1000, repeats };
  return runAnchor<SklearnFit & { precompute: SklearnFit; sklearn: string }>(design, header);
}

/** Writes X, y and the header for the anchor, runs it and parses its JSON line. */
function runAnchor<T>(design: { x: Float32Array; y: Float32Array }, fields: Record<string, unknown>): T | string {
  if (!existsSync(PYTHON)) return `skipped: ${PYTHON} not found`;
  const script = findAnchor();
  if (!script) return "skipped: kernels-bench/anchors/lasso_sklearn.py not found";
  const dir = mkdtempSync(join(tmpdir(), "pocketflow-lasso-"));
  try {
    const header = Buffer.from(JSON.stringify(fields));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.length);
    const file = join(dir, "design.bin");
    writeFileSync(file, Buffer.concat([
      length, header,
      Buffer.from(design.x.buffer, design.x.byteOffset, design.x.byteLength),
      Buffer.from(design.y.buffer, design.y.byteOffset, design.y.byteLength),
    ]));
    // one BLAS thread: our kernels run on one thread too
    const env = { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };
    const run = spawnSync(PYTHON, [script, file], { encoding: "utf8", env, timeout: 300_000 });
    const lastLine = (run.stdout ?? "").trim().split("\n").pop() ?? "";
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(lastLine) as Record<string, unknown>;
    } catch {
      return `skipped: the sklearn anchor failed (${(run.stderr || run.error?.message || `status ${run.status}`).trim().split("\n").pop()})`;
    }
    if (typeof parsed.error === "string") return `skipped: ${parsed.error}`;
    return parsed as unknown as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchLasso(opts: BenchOptions): Promise<BenchEntry[]> {
  const minTimeMs = opts.quick ? 300 : 2000;
  const design = makeDesign(4096512);
  const entries: BenchEntry[] = [];
  let system: GramSystem = gram(design.x, SAMPLES, FEATURES, design.y);

  // (a) the Gram matrix: useful work is the upper triangle, n·p(p+1)/2 multiply-adds.
  const gramFlop = SAMPLES * FEATURES * (FEATURES + 1);
  const ourGram = time(() => (system = gram(design.x, SAMPLES, FEATURES, design.y)), minTimeMs, 8);
  const jsGram = time(() => plainGram(design.x, design.y, SAMPLES, FEATURES), opts.quick ? 0 : minTimeMs, 1);
  entries.push(entry({
    kernel: "gram XᵀX, Xᵀy f32", size: SIZE, unit: "GFLOP/s",
    ours: perSecond(gramFlop, ourGram.bestMs) / 1e9,
    baseline: "plain JS", baselineValue: perSecond(gramFlop, jsGram.bestMs) / 1e9,
    note: `${ms(ourGram.bestMs)} vs ${ms(jsGram.bestMs)}`,
  }));

  // (a) coordinate descent on the same Gram system, cold start
  const solveOptions = { alpha: ALPHA };
  const ours = lasso(system, solveOptions);
  const ourSolve = time(() => lasso(system, solveOptions), minTimeMs);
  const jsSolve = time(() => lassoRef(system, solveOptions), opts.quick ? minTimeMs / 2 : minTimeMs, 1);
  entries.push(entry({
    kernel: "lasso coordinate descent on Gram", size: `p=${FEATURES} α=${ALPHA}`, unit: "solves/s",
    ours: perSecond(1, ourSolve.bestMs), baseline: "plain JS", baselineValue: perSecond(1, jsSolve.bestMs),
    note: `${ours.iterations} sweeps, ${ours.nonZeros} non-zeros, converged ${ours.converged}; ${ms(ourSolve.bestMs)} vs ${ms(jsSolve.bestMs)}`,
  }));

  // (b) Gram + solve against scikit-learn, same support as the target
  const fitMs = ourGram.bestMs + ourSolve.bestMs;
  const jsFitMs = jsGram.bestMs + jsSolve.bestMs;
  entries.push(entry({
    kernel: "lasso fit (gram + solve)", size: SIZE, unit: "fits/s",
    ours: perSecond(1, fitMs), baseline: "plain JS", baselineValue: perSecond(1, jsFitMs),
    note: `${ms(fitMs)} vs ${ms(jsFitMs)}`,
  }));
  const ourSupport = supportOf(ours.coefficients);
  const sk = runSklearn(design, opts.quick ? 2 : 5);
  if (typeof sk === "string") {
    entries.push(entry({
      kernel: "lasso fit (gram + solve)", size: SIZE, unit: "fits/s", ours: perSecond(1, fitMs),
      baseline: "sklearn Lasso", baselineValue: null, target: "same support as sklearn", note: sk,
    }));
  } else {
    const same = sameSet(ourSupport, sk.support);
    const samePrecomputed = sameSet(ourSupport, sk.precompute.support);
    const trueSupport = sameSet(ourSupport, design.support);
    entries.push({
      ...entry({
        kernel: "lasso fit (gram + solve)", size: SIZE, unit: "fits/s", ours: perSecond(1, fitMs),
        baseline: `sklearn ${sk.sklearn} Lasso (f64, 1 thread)`, baselineValue: perSecond(1, sk.bestSeconds * 1000),
        target: "same support as sklearn",
        note:
          `support ${same ? "identical" : "differs"} (${ourSupport.length} vs ${sk.support.length}), ` +
          `${trueSupport ? "equal to" : "not"} the true ${TRUE_NON_ZEROS}; sklearn ${ms(sk.bestSeconds * 1000)} ` +
          `(${sk.iterations} iterations); sklearn precompute=True ${ms(sk.precompute.bestSeconds * 1000)}, ` +
          `support ${samePrecomputed ? "identical" : "differs"}; ours ${ms(fitMs)}, nearly all Gram: O(np²/2) once, ` +
          "which every solve of a search reuses, where sklearn's default pays O(np) per sweep",
      }),
      met: same,
    });
  }

  // (c) the search for keep = 128 of 512 against steps × one cold solve at the α it finds
  const search = lassoForNonZeros(system, { keep: KEEP });
  const searchTime = time(() => lassoForNonZeros(system, { keep: KEEP }), minTimeMs, opts.quick ? 2 : 3);
  const cold = lasso(system, { alpha: search.alpha });
  const coldTime = time(() => lasso(system, { alpha: search.alpha }), minTimeMs);
  const budgetMs = search.steps * coldTime.bestMs;
  entries.push(entry({
    kernel: `lassoForNonZeros keep ${KEEP} of ${FEATURES}`, size: SIZE, unit: "searches/s",
    ours: perSecond(1, searchTime.bestMs), baseline: "steps × one cold solve", baselineValue: perSecond(1, budgetMs),
    minRatio: 1, target: "<= one cold solve per step",
    note:
      `${search.steps} steps, ${search.totalIterations} sweeps in all, exact ${search.exact} (${search.nonZeros} non-zeros), ` +
      `${ms(searchTime.bestMs)} vs ${search.steps} × ${ms(coldTime.bestMs)} (cold: ${cold.iterations} sweeps)`,
  }));
  entries.push(...benchCorrelatedSearch(4096, 256, 128, opts), ...benchCorrelatedSearch(4096, 512, 64, opts));
  return entries;
}

interface SklearnSearch {
  seconds: number;
  alpha: number;
  support: number[];
  exact: boolean;
  fits: number;
  iterations: number;
  sklearn: string;
}

/** sklearn's settings for its search: its defaults, then tightened as ours tightens. */
const SKLEARN_SEARCHES = [
  { tol: 1e-4, maxIter: 1000 },
  { tol: 1e-6, maxIter: 10000 },
];

/** (d) our Gram + search with default options against sklearn's penalty search, same design. */
function benchCorrelatedSearch(samples: number, features: number, keep: number, opts: BenchOptions): BenchEntry[] {
  const design = correlatedDesign({ samples, features, activeColumns: 32, columnNoise: 0.5, seed: 2 });
  const size = `${samples}x${features}`;
  const kernel = `lassoForNonZeros keep ${keep} of ${features}, correlated`;
  let system = gram(design.x, samples, features, design.y);
  let search = lassoForNonZeros(system, { keep });
  const ours = time(() => {
    system = gram(design.x, samples, features, design.y);
    search = lassoForNonZeros(system, { keep });
  }, 0, opts.quick ? 1 : 3);
  const ourError = supportError(design, system, supportOf(search.coefficients));
  const ourNote = `ours: ${search.nonZeros} non-zeros (exact ${search.exact}), ${search.steps} solves, ${ms(ours.bestMs)}`;
  return SKLEARN_SEARCHES.map(({ tol, maxIter }) => {
    const baseline = `sklearn Lasso search tol ${tol} maxIter ${maxIter}`;
    const sk = runAnchor<SklearnSearch>(design, { samples, features, tol, maxIter, search: { keep, maxSteps: 60 } });
    if (typeof sk === "string") {
      return entry({ kernel, size, unit: "searches/s", ours: perSecond(1, ours.bestMs), baseline, baselineValue: null, note: `${ourNote}; ${sk}` });
    }
    const skError = supportError(design, system, sk.support);
    return {
      ...entry({
        kernel, size, unit: "searches/s", ours: perSecond(1, ours.bestMs),
        baseline: `${baseline} (sklearn ${sk.sklearn}, f64, 1 thread)`, baselineValue: perSecond(1, sk.seconds * 1000),
        target: "exact k, LS error <= sklearn's",
        note:
          `${ourNote}; sklearn: ${sk.support.length} non-zeros (exact ${sk.exact}), ${sk.fits} fits, ${sk.iterations} iterations, ` +
          `${ms(sk.seconds * 1000)}; LS error on the kept columns ${ourError.toPrecision(4)} vs ${skError.toPrecision(4)} ` +
          `(ratio ${(ourError / skError).toFixed(3)})`,
      }),
      // an error is only comparable on as many columns: more columns always fit better
      met: search.exact && (sk.support.length !== keep || ourError <= skError * (1 + 1e-6)),
    };
  });
}
