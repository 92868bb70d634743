// Command-line plumbing shared by `run` and `export`: usage errors exit with code 2.

import { CommanderError, type Command } from "commander";
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
