// `%mlflow_status`: where runs go, the experiment, the open runs and what is still undelivered.

import { dirname } from "node:path";
import { Spool } from "../tracking/index.js";
import type { Magic } from "./registry.js";
import type { MagicContext } from "./context.js";
import { escapeHtml } from "./summary.js";

export const mlflowStatus: Magic<MagicContext> = {
  name: "mlflow_status",
  kind: "line",
  summary: "Show the tracking URI, experiment, open runs, autolog settings and pending data.",
  usage: "",
  options: {},
  async run(_inv, ctx) {
    const { session } = ctx;
    await session.attachOuterRun();
    const exp = await session.currentExperiment();
    const pending = await session.tracking.pending();
    const runs = session.stack.map((r) => `${r.info.runName} (${r.runId})${r.owned ? "" : " [opened by MLFLOW_RUN_ID]"}`);
    const rows: [string, string][] = [
      ["tracking URI", session.tracking.uri],
      ["experiment", `${exp.name} (id ${exp.experimentId})`],
      ["active run", runs.length ? runs.reverse().join(" ⊂ ") : "(none)"],
      ["pending", `${pending} item${pending === 1 ? "" : "s"} not yet delivered`],
    ];
    // Parked: what the store refused or was given up on; kept with the reason, never retried.
    const artifacts = session.tracking.artifacts;
    if (artifacts) {
      const [requests, uploads] = await Promise.all([new Spool(dirname(artifacts.dir), session.tracking.uri).parked(), artifacts.parked()]);
      if (requests.length + uploads.length) {
        const last = [...requests, ...uploads].sort((a, b) => a.name.localeCompare(b.name)).at(-1)!;
        rows.push([
          "parked",
          `${requests.length} request(s) and ${uploads.length} artifact upload(s) refused or given up on, kept in ${dirname(artifacts.dir)}; newest reason: ${session.redactor.text(last.reason) || "(none recorded)"}`,
        ]);
      }
    }
    const text = rows.map(([k, v]) => `${k.padEnd(13)} ${v}`).join("\n") + "\nautolog:\n" + session.autolog.describe().replace(/^/gm, "  ");
    const html = `<table>${rows.map(([k, v]) => `<tr><th style="text-align:left">${k}</th><td>${escapeHtml(v)}</td></tr>`).join("")}</table>`;
    ctx.cell.display({ "text/plain": text, "text/html": html });
  },
};
