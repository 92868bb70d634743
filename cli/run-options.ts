// Command-line plumbing shared by `run` and `export`: usage errors exit with code 2, and
// papermill's two-value options (`-p NAME VALUE`), which commander cannot express directly.

import { Command, CommanderError } from "commander";
import { EXIT_BAD_INPUT } from "./input-error.js";

/** Unknown options, missing arguments and bad choices exit 2 (commander's default is 1). */
export function badInputExits(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.exitCode === 0) {
      throw err;
    }
    throw new CommanderError(EXIT_BAD_INPUT, err.code, err.message);
  });
}

/**
 * A command whose listed flags take two values, `FLAG NAME VALUE`, as papermill's do. They are
 * rewritten to `FLAG NAME=VALUE` before commander parses them (so `-p NAME=VALUE` works too).
 */
export class PairedOptionsCommand extends Command {
  constructor(
    name: string,
    private readonly pairedFlags: readonly string[],
  ) {
    super(name);
  }

  override parseOptions(argv: string[]) {
    const out: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === "--") {
        out.push(...argv.slice(i));
        break;
      }
      if (!this.pairedFlags.includes(arg)) {
        out.push(arg);
        continue;
      }
      const name = argv[i + 1];
      if (name !== undefined && name.includes("=") && !name.startsWith("-")) {
        out.push(arg, name);
        i += 1;
        continue;
      }
      const value = argv[i + 2];
      // An option-looking value means the value was forgotten (negative numbers are values).
      const looksLikeOption = (a: string | undefined) => a !== undefined && /^-(?![\d.])/.test(a);
      if (name === undefined || value === undefined || looksLikeOption(name) || looksLikeOption(value)) {
        this.error(
          `error: option '${arg}' needs a name and a value: ${arg} NAME VALUE (or ${arg} NAME=VALUE for a value starting with "-")`,
          {
            exitCode: EXIT_BAD_INPUT,
            code: "commander.optionMissingArgument",
          },
        );
      }
      out.push(arg, `${name}=${value}`);
      i += 2;
    }
    return super.parseOptions(out);
  }
}

/** Collects repeated `NAME=VALUE` options in order. */
export function collectPair(raw: string, previous: { name: string; value: string }[] = []) {
  const eq = raw.indexOf("=");
  const name = eq < 0 ? raw : raw.slice(0, eq);
  const value = eq < 0 ? "" : raw.slice(eq + 1);
  return [...previous, { name, value, hasValue: eq >= 0 }];
}

export function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
