// `tslab-mlflow serve MODEL_URI [--port P] [--host H] [--workers N]`: MLflow's scoring server
// for a model (models/scoring-server.ts). The model is downloaded once, by this process; with
// `--workers N` it forks N processes (node:cluster) that load it from that folder and share
// one port. Prints `Listening at <url>` once every worker listens. SIGTERM or SIGINT is a
// graceful shutdown: requests already received are answered, then the process exits 0.

import cluster from "node:cluster";
import fs from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import { badInputExits } from "./run-options.js";

/** How the primary hands the worker the model folder it downloaded. */
const DIR_ENV = "TSLAB_MLFLOW_SERVE_MODEL_DIR";

export interface ServeOptions {
  port: number;
  host: string;
  workers: number;
  maxBodyBytes?: number;
}

function intOption(name: string, min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}.`);
    return n;
  };
}

function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version;
  } catch {
    return "unknown";
  }
}

export function registerServeCommand(program: Command): void {
  badInputExits(
    program
      .command("serve")
      .description("serve a model with MLflow's scoring protocol (POST /invocations; GET /ping, /health, /version)")
      .argument(
        "<model_uri>",
        "runs:/<run_id>/<path>, models:/<name>/<version>, models:/<name>@<alias>, models:/<model_id> or a local model folder",
      )
      .option("-p, --port <port>", "port to listen on (0: a free one)", intOption("--port", 0, 65535), 5000)
      .option("-h, --host <host>", "address to listen on", "127.0.0.1")
      .option("-w, --workers <n>", "processes answering requests on the one port", intOption("--workers", 1, 256), 1)
      .option(
        "--max-body-size <bytes>",
        "largest request body accepted (413 beyond it)",
        intOption("--max-body-size", 1, 2 ** 31),
        undefined,
      )
      .helpOption("--help", "display help for command")
      .allowExcessArguments(false),
  ).action(async (uri: string, opts: { port: number; host: string; workers: number; maxBodySize?: number }) => {
    await serve(uri, { port: opts.port, host: opts.host, workers: opts.workers, maxBodyBytes: opts.maxBodySize });
  });
}

/** Loads the model (the primary downloads it; workers load the folder) and serves it until SIGTERM. */
export async function serve(uri: string, opts: ServeOptions): Promise<void> {
  const { loadModelFromDir } = await import("../models/load-local.js");
  if (cluster.isWorker) {
    const model = await loadModelFromDir(process.env[DIR_ENV]!);
    await listen(model, opts, () => process.send?.({ listening: true }));
    return;
  }
  const { MlflowClient } = await import("../tracking/index.js");
  const { defaultModelCache, fetchModel } = await import("../models/fetch.js");
  const { dir } = await fetchModel(new MlflowClient(), uri, defaultModelCache());
  // Loaded here too: a model that cannot load is reported once, before anything listens.
  const model = await loadModelFromDir(dir);
  if (opts.workers === 1) {
    const server = await listen(model, opts);
    console.log(`Listening at ${server.url} (model ${uri}, flavour ${model.metadata.flavor})`);
    return;
  }
  await primary(dir, uri, opts);
}

async function listen(model: import("../models/load-local.js").LoadedModel, opts: ServeOptions, onListening?: () => void) {
  const { startScoringServer } = await import("../models/scoring-server.js");
  const server = await startScoringServer({
    model,
    host: opts.host,
    port: opts.port,
    version: packageVersion(),
    maxBodyBytes: opts.maxBodyBytes,
  });
  onListening?.();
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void server.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // A worker whose primary is gone has no one to stop it: stop by itself.
  if (cluster.isWorker) process.on("disconnect", stop);
  return server;
}

/** Forks the workers, says where they listen, and passes a SIGTERM on to them. */
async function primary(dir: string, uri: string, opts: ServeOptions): Promise<void> {
  // Workers listening on the same address share one socket held by this process; port 0 too
  // (node:cluster gives every worker's listen(0) the same port).
  const fork = () => cluster.fork({ ...process.env, [DIR_ENV]: dir });
  let stopping = false;
  const workers = Array.from({ length: opts.workers }, () => fork());
  const addresses = await Promise.all(
    workers.map(
      (w) =>
        new Promise<{ port: number }>((resolve, reject) => {
          w.once("listening", (a) => resolve(a));
          w.once("exit", (code) => reject(new Error(`A serving worker exited (code ${code}) before listening.`)));
        }),
    ),
  );
  const port = addresses[0]!.port;
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  console.log(`Listening at http://${host}:${port} (model ${uri}, ${opts.workers} workers)`);
  cluster.on("exit", (w, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    // A worker that died mid-service is replaced; the others keep answering meanwhile.
    console.error(`Worker ${w.process.pid} exited (${signal ?? code}); starting another.`);
    fork();
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {});
    if (!workers.length) process.exit(0);
    for (const w of workers) w?.process.kill("SIGTERM");
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
