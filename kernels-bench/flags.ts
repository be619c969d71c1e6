// A bench's command-line flags: `--name value` pairs read from argv.

/** The value after `flag` in argv, or undefined when the flag (or its value) is absent. */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
}
