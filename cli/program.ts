// The `tslab-mlflow` command's subcommands and options (main.ts is the entry). Each
// subcommand loads its module only when it runs, so `tslab-mlflow kernel` starts without
// paying for install's PNG renderer or the run/export machinery.
import fs from "node:fs";
import { Command, CommanderError, Option } from "commander";
import type { InstallLocation } from "./install.js";
import { exitOnError } from "./exit-on-error.js";
import { registerExportCommand } from "./export.js";
import { registerRunCommand } from "./run.js";
import { registerSyncCommand } from "./sync.js";
import { registerServeCommand } from "./serve.js";

interface LocationFlags {
  user?: boolean;
  sysPrefix?: boolean;
  prefix?: string;
}

function locationOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--user", "the per-user Jupyter data dir ($JUPYTER_DATA_DIR or ~/.local/share/jupyter); the default").conflicts([
        "sysPrefix",
        "prefix",
      ]),
    )
    .addOption(
      new Option("--sys-prefix", "the data dir of the Python that runs `jupyter` (<sys.prefix>/share/jupyter)").conflicts([
        "user",
        "prefix",
      ]),
    )
    .addOption(new Option("--prefix <dir>", "<dir>/share/jupyter").conflicts(["user", "sysPrefix"]));
}

function location(flags: LocationFlags, fallback: InstallLocation | undefined): InstallLocation | undefined {
  if (flags.prefix !== undefined) return { kind: "prefix", dir: flags.prefix };
  if (flags.sysPrefix) return { kind: "sys-prefix" };
  if (flags.user) return { kind: "user" };
  return fallback;
}

/** This package's version, from the package.json two levels above dist/cli/. */
function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version;
  } catch {
    return "unknown";
  }
}

export function buildProgram(): Command {
  const program = new Command("tslab-mlflow")
    .description("A TypeScript Jupyter kernel whose magics turn notebook cells into MLflow runs")
    .version(packageVersion())
    .showHelpAfterError()
    .showSuggestionAfterError();

  locationOptions(
    program
      .command("install")
      .description("install the kernelspec into Jupyter's data directories (no Python needed)")
      .option("--name <name>", "kernelspec name", "tslab-mlflow")
      .option("--display-name <text>", "name shown in Jupyter's kernel picker", "TypeScript (tslab-mlflow)"),
  )
    .allowExcessArguments(false)
    .action(async (opts: LocationFlags & { name: string; displayName: string }, cmd: Command) => {
      const { installKernelSpec } = await import("./install.js");
      const dir = await usageOnBadInput(cmd, () =>
        installKernelSpec({ location: location(opts, { kind: "user" }), name: opts.name, displayName: opts.displayName }),
      );
      console.log(`Installed kernelspec ${opts.name} in ${dir}`);
    });

  locationOptions(
    program
      .command("uninstall")
      .description("remove the kernelspec (from every Jupyter data dir unless a location is given)")
      .option("--name <name>", "kernelspec name", "tslab-mlflow"),
  )
    .allowExcessArguments(false)
    .action(async (opts: LocationFlags & { name: string }, cmd: Command) => {
      const { uninstallKernelSpec } = await import("./install.js");
      const removed = await usageOnBadInput(cmd, () => uninstallKernelSpec({ location: location(opts, undefined), name: opts.name }));
      for (const dir of removed) {
        console.log(`Removed kernelspec ${opts.name} from ${dir}`);
      }
    });

  program
    .command("kernel")
    .description("run the kernel (Jupyter starts this through the kernelspec)")
    .requiredOption("--connection-file <file>", "connection file written by the frontend")
    .allowExcessArguments(false)
    .action(async (opts: { connectionFile: string }) => {
      // Only for argv main.ts leaves to commander (`kernel --help`, a missing or doubled option).
      const { runKernel } = await import("./kernel-start.js");
      await runKernel(opts.connectionFile);
    });

  // Further subcommands register themselves here: registerXCommand(program).
  registerRunCommand(program);
  registerExportCommand(program);
  registerSyncCommand(program);
  registerServeCommand(program);

  return program;
}

/** Turns a bad name or prefix into commander's error: message, usage, exit 1. */
async function usageOnBadInput<T>(cmd: Command, work: () => T): Promise<T> {
  try {
    return work();
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === "BAD_KERNEL_NAME" || err.code === "BAD_PREFIX") cmd.error(`error: ${err.message}`);
    throw e;
  }
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    exitOnError(e);
  }
}
