// `tslab-mlflow export NOTEBOOK [--to html|md] [-o OUT]`: an executed notebook as a
// standalone offline HTML page (interactive charts) or as Markdown with files beside it.
// Pages are made to be published: secrets (values of secret-named environment variables,
// URI credentials) are replaced unless --keep-secrets, and stderr names what was replaced.

import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { Command, Option } from "commander";
import { reportInputErrors } from "./input-error.js";
import { Redactor } from "../magics/redact.js";
import { readNotebook, redactNotebook } from "./notebook.js";
import { badInputExits } from "./run-options.js";

export interface ExportOptions {
  to: "html" | "md";
  out?: string;
  /** HTML only: inline the chart scripts (default) or write them beside the page. */
  scripts?: "inline" | "beside";
  /** Keep secret values in the page (default: replaced, see the header). */
  keepSecrets?: boolean;
  /** Whose variables count as secrets (default: this process's environment). */
  env?: Record<string, string | undefined>;
}

export interface ExportResult {
  out: string;
  files: string[];
  warnings: string[];
  /** Names of the variables whose values were replaced (empty with keepSecrets). */
  redacted: string[];
}

export async function exportNotebook(input: string, options: ExportOptions): Promise<ExportResult> {
  const redactor = options.keepSecrets ? undefined : new Redactor(options.env ?? process.env);
  const read = await readNotebook(input);
  const nb = redactor ? redactNotebook(read, redactor) : read;
  const redacted = redactor?.redactedNames() ?? [];
  // Loaded here, not at the top: main.ts registers this command for every invocation,
  // and `tslab-mlflow kernel` must not pay for vega and highlight.js.
  const [{ renderPage }, { renderMarkdown }] = await Promise.all([import("./html/page.js"), import("./export-md.js")]);
  const out = resolve(options.out ?? defaultOutput(input, options.to));
  const stem = basename(out, extname(out));
  const filesDirName = `${stem}_files`;
  const filesDir = join(dirname(out), filesDirName);
  await mkdir(dirname(out), { recursive: true });

  if (options.to === "html") {
    const scripts = options.scripts === "beside" ? { dir: filesDirName } : ("inline" as const);
    const page = await renderPage(nb, { title: basename(input, extname(input)), scripts });
    const files = await writeBeside(
      filesDir,
      page.assets.map((a) => ({ name: a.file, data: a.source })),
    );
    await writeFile(out, page.html);
    return { out, files, warnings: page.warnings, redacted };
  }

  const md = await renderMarkdown(nb, filesDirName);
  const files = await writeBeside(filesDir, md.files);
  await writeFile(out, md.markdown);
  return { out, files, warnings: md.warnings, redacted };
}

/** Writes the files that go beside the output into `dir` (made only when there are any); returns their paths. */
async function writeBeside(dir: string, files: { name: string; data: string | Buffer }[]): Promise<string[]> {
  if (files.length) await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const f of files) {
    await writeFile(join(dir, f.name), f.data);
    written.push(join(dir, f.name));
  }
  return written;
}

function defaultOutput(input: string, to: "html" | "md"): string {
  const stem = basename(input, extname(input));
  return join(dirname(input), `${stem}.${to}`);
}

export function registerExportCommand(program: Command): void {
  const cmd = program
    .command("export")
    .description("write an executed notebook as a standalone HTML page or as Markdown")
    .argument("<notebook>", "the .ipynb file")
    .addOption(new Option("--to <format>", "output format").choices(["html", "md"]).default("html"))
    .option("-o, --output <file>", "output file (default: beside the notebook, NAME.html or NAME.md)")
    .addOption(
      new Option("--scripts <where>", "HTML: chart scripts inline in the page, or as files beside it")
        .choices(["inline", "beside"])
        .default("inline"),
    )
    .option(
      "--keep-secrets",
      "keep the values of secret-named environment variables (*TOKEN*, *SECRET*, *PASSWORD*, *KEY*, *CREDENTIAL*) and URI credentials in the page",
    )
    .allowExcessArguments(false)
    .action((notebook: string, opts: { to: "html" | "md"; output?: string; scripts: "inline" | "beside"; keepSecrets?: boolean }) =>
      reportInputErrors(async () => {
        const result = await exportNotebook(notebook, {
          to: opts.to,
          out: opts.output,
          scripts: opts.scripts,
          keepSecrets: opts.keepSecrets === true,
        });
        for (const w of result.warnings) console.error(`warning: ${w}`);
        if (result.redacted.length)
          console.error(`note: the values of ${result.redacted.join(", ")} were replaced by [REDACTED] (--keep-secrets keeps them)`);
        const extra = result.files.length
          ? ` (+${result.files.length} files in ${relative(process.cwd(), dirname(result.files[0]!)) || "."})`
          : "";
        console.log(`Wrote ${relative(process.cwd(), result.out) || result.out}${extra}`);
      }),
    );
  badInputExits(cmd);
}
