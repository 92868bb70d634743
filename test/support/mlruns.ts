// Reads the runs an MLflow FileStore tree (./mlruns layout) holds, the way the MLflow
// UI would list them: one meta.yaml per run under <experiment id>/<run id>/.
import fs from "node:fs";
import path from "node:path";
import { parse } from "yaml";

/** RunStatus as the FileStore writes it (MLflow's protobuf enum numbers). */
const STATUS = { 1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED" } as const;

export interface StoredRun {
  runId: string;
  runName: string;
  experimentId: string;
  status: string;
}

export function storedRuns(mlruns: string): StoredRun[] {
  if (!fs.existsSync(mlruns)) return [];
  const runs: StoredRun[] = [];
  for (const exp of fs.readdirSync(mlruns)) {
    const expDir = path.join(mlruns, exp);
    if (exp.startsWith(".") || exp === "models" || !fs.statSync(expDir).isDirectory()) continue;
    for (const run of fs.readdirSync(expDir)) {
      const meta = path.join(expDir, run, "meta.yaml");
      if (!fs.existsSync(meta)) continue;
      const m = parse(fs.readFileSync(meta, "utf8")) as Record<string, unknown>;
      runs.push({
        runId: String(m.run_id ?? m.run_uuid),
        runName: String(m.run_name ?? ""),
        experimentId: String(m.experiment_id),
        status: STATUS[m.status as keyof typeof STATUS] ?? `unknown(${String(m.status)})`,
      });
    }
  }
  return runs;
}
