// Datasets by name, as the CLI and the learners ask for them, with each one's usual training
// augmentation: CIFAR-10 the standard pad-4 crop and flip (He et al. 2016); Fashion-MNIST a
// pad-2 crop and flip (garments are left-right symmetric); MNIST none (flipped digits change meaning).
import type { Augmentation } from "./batches.js";
import type { TrainTestData } from "./dataset.js";
import { loadCifar10 } from "./cifar10.js";
import { loadMnist } from "./mnist.js";
import { syntheticDataset } from "./synthetic.js";

export const DATASET_NAMES = ["mnist", "fashion-mnist", "cifar10", "synthetic"] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export const DEFAULT_AUGMENTATION: Record<DatasetName, Augmentation> = {
  mnist: {},
  "fashion-mnist": { cropPadding: 2, horizontalFlip: true },
  cifar10: { cropPadding: 4, horizontalFlip: true },
  synthetic: {},
};

export function checkDatasetName(name: string): DatasetName {
  if (!(DATASET_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`dataset must be one of ${DATASET_NAMES.join(", ")}, but got '${name}'`);
  }
  return name as DatasetName;
}

/**
 * Loads a dataset by name. `directory` overrides where its files are read from; CIFAR-10 needs
 * one (its binary batches cannot ship with the package), the others have offline defaults.
 */
export function loadDataset(name: string, directory?: string): TrainTestData {
  const checked = checkDatasetName(name);
  switch (checked) {
    case "mnist":
    case "fashion-mnist":
      return loadMnist(checked, directory);
    case "cifar10":
      if (directory === undefined) {
        throw new Error("cifar10: no directory given; download the CIFAR-10 binary version (cifar-10-binary.tar.gz), unpack it and pass its cifar-10-batches-bin directory");
      }
      return loadCifar10(directory);
    case "synthetic":
      return syntheticDataset({ imageShape: [16, 16, 1], numClasses: 4, trainCount: 2048, testCount: 512 });
  }
}
