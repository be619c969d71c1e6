// Command-line options: each command declares its options once (name, kind, help, default), and
// one parser checks them, so every command rejects an unknown option or a bad value the same
// way, naming the option, the rule and the value, and prints its help from the same table.

export type OptionKind = "string" | "number" | "integer" | "flag";

export interface OptionSpec {
  name: string;
  kind: OptionKind;
  help: string;
  /** Allowed values of a string option. */
  choices?: readonly string[];
  /** Smallest allowed value of a number or integer option. */
  min?: number;
  /** Shown in the help; defaults are applied by the command, which may depend on other options. */
  defaultText?: string;
}

export type ParsedOptions = Record<string, string | number | boolean | undefined>;

/** An error in what the user typed: the CLI prints it with the command's usage and exits 2. */
export class UsageError extends Error {}

function parseValue(command: string, spec: OptionSpec, text: string): string | number {
  if (spec.kind === "string") {
    if (spec.choices !== undefined && !spec.choices.includes(text)) {
      throw new UsageError(`${command}: --${spec.name} must be one of ${spec.choices.join(", ")}, but got '${text}'`);
    }
    return text;
  }
  const value = Number(text);
  const integer = spec.kind === "integer";
  if (text.trim() === "" || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < (spec.min ?? -Infinity)) {
    const rule = `${integer ? "an integer" : "a number"}${spec.min === undefined ? "" : ` >= ${spec.min}`}`;
    throw new UsageError(`${command}: --${spec.name} must be ${rule}, but got '${text}'`);
  }
  return value;
}

/** Parses `--name value`, `--name=value` and `--flag`; anything else is a UsageError. */
export function parseOptions(command: string, argv: readonly string[], specs: readonly OptionSpec[]): ParsedOptions {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const parsed: ParsedOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    if (!argument.startsWith("--")) throw new UsageError(`${command}: unexpected argument '${argument}'; options start with --`);
    const [name, inline] = argument.slice(2).split(/=(.*)/s, 2);
    const spec = byName.get(name);
    if (spec === undefined) throw new UsageError(`${command}: unknown option --${name}; it takes ${specs.map((s) => `--${s.name}`).join(", ")}`);
    if (spec.kind === "flag") {
      if (inline !== undefined) throw new UsageError(`${command}: --${name} is a flag and takes no value`);
      parsed[name] = true;
      continue;
    }
    const text = inline ?? argv[++i];
    if (text === undefined) throw new UsageError(`${command}: --${name} needs a value`);
    parsed[name] = parseValue(command, spec, text);
  }
  return parsed;
}

/** Fails unless every named option was given. */
export function requireOptions(command: string, parsed: ParsedOptions, names: readonly string[]): void {
  const missing = names.filter((name) => parsed[name] === undefined);
  if (missing.length > 0) throw new UsageError(`${command}: missing ${missing.map((name) => `--${name}`).join(", ")}`);
}

/** The options table of a command's help. */
export function optionsHelp(specs: readonly OptionSpec[]): string {
  const left = specs.map((spec) => `  --${spec.name}${spec.kind === "flag" ? "" : spec.choices ? ` ${spec.choices.join("|")}` : ` ${spec.kind === "string" ? "VALUE" : "N"}`}`);
  const width = Math.max(...left.map((text) => text.length)) + 2;
  return specs.map((spec, i) => `${left[i].padEnd(width)}${spec.help}${spec.defaultText ? ` (default: ${spec.defaultText})` : ""}`).join("\n");
}
