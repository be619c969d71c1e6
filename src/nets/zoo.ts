// The model zoo by name: what the CLI and the search take as `--net resnet20`. Each net is a
// function of src/nets/ returning a model IR graph with fresh, seeded weights; no tfjs here.
import type { Graph } from "../graph/ir.js";
import { fail } from "../util/check.js";
import type { MobileNetOptions } from "./builder.js";
import { convnet } from "./convnet.js";
import { lenet } from "./lenet.js";
import { mobilenetV1 } from "./mobilenet-v1.js";
import { mobilenetV2 } from "./mobilenet-v2.js";
import { resnet } from "./resnet.js";

export const NET_NAMES = ["lenet", "convnet", "resnet20", "resnet32", "resnet56", "mobilenet-v1", "mobilenet-v2"] as const;

export type NetName = (typeof NET_NAMES)[number];

/** What createNet takes: inputShape, classes and seed for every net; widthMultiplier for the MobileNets. */
export type CreateNetOptions = MobileNetOptions;

const OPTION_NAMES = ["inputShape", "classes", "widthMultiplier", "seed"];

const BUILDERS: Record<NetName, (options: CreateNetOptions) => Graph> = {
  lenet,
  convnet,
  resnet20: (options) => resnet({ ...options, depth: 20 }),
  resnet32: (options) => resnet({ ...options, depth: 32 }),
  resnet56: (options) => resnet({ ...options, depth: 56 }),
  "mobilenet-v1": mobilenetV1,
  "mobilenet-v2": mobilenetV2,
};

const WIDTH_NETS: readonly NetName[] = ["mobilenet-v1", "mobilenet-v2"];

export function isNetName(name: string): name is NetName {
  return (NET_NAMES as readonly string[]).includes(name);
}

/**
 * A net of the zoo by name, with fresh weights from `seed` (0 when omitted). An unknown name or
 * option, or an option the net does not take, is an error that lists the choices.
 */
export function createNet(name: string, options: CreateNetOptions = {}): Graph {
  if (!isNetName(name)) fail("createNet", `unknown net '${name}'; choose one of: ${NET_NAMES.join(", ")}`);
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) fail("createNet", `unknown option '${key}' for '${name}'; options are: ${OPTION_NAMES.join(", ")}`);
  }
  if (options.widthMultiplier !== undefined && !WIDTH_NETS.includes(name)) {
    fail("createNet", `widthMultiplier applies to ${WIDTH_NETS.join(", ")} only, but was given for '${name}'`);
  }
  return BUILDERS[name](options);
}
