// The `MLmodel` file: MLflow's YAML description of a model folder (artifact_path, flavors,
// model_uuid, run_id, utc_time_created, signature, saved_input_example_info, ...). Written
// so MLflow's own `Model.load` reads it, and read back from what we or MLflow wrote.

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { MlflowError, invalidParameter, notFound } from "../tracking/index.js";
import { signatureFromMlmodel, signatureToMlmodel, type ModelSignature } from "./signature.js";

export const MLMODEL_FILE_NAME = "MLmodel";

/** `saved_input_example_info` as MLflow writes it. */
export interface InputExampleInfo {
  artifact_path: string;
  type: "dataframe" | "ndarray" | "json_object";
  pandas_orient?: "split" | "values";
  serving_input_path?: string;
}

export interface MlModel {
  artifactPath?: string;
  runId?: string;
  /** MLflow 3: the LoggedModel this folder belongs to. */
  modelId?: string;
  modelUuid: string;
  /** `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, as Python's `str(datetime.utcnow())`. */
  utcTimeCreated: string;
  flavors: Record<string, Record<string, unknown>>;
  signature?: ModelSignature;
  savedInputExampleInfo?: InputExampleInfo;
  modelSizeBytes?: number;
  metadata?: Record<string, unknown>;
  /** Every other key of the file, kept as it was (so a rewrite loses nothing). */
  extra: Record<string, unknown>;
}

/** Python's `str(datetime.utcnow())`: `2026-12-06 21:35:28.123000`. */
export function utcTimeCreated(d = new Date()): string {
  return d
    .toISOString()
    .replace("T", " ")
    .replace("Z", "")
    .replace(/\.(\d{3})$/, ".$1000");
}

const KNOWN = new Set([
  "artifact_path",
  "run_id",
  "model_id",
  "model_uuid",
  "utc_time_created",
  "flavors",
  "signature",
  "saved_input_example_info",
  "model_size_bytes",
  "metadata",
]);

export function mlmodelToYaml(m: MlModel): string {
  const doc: Record<string, unknown> = {};
  if (m.artifactPath !== undefined) doc.artifact_path = m.artifactPath;
  doc.flavors = m.flavors;
  if (m.modelId !== undefined) doc.model_id = m.modelId;
  if (m.modelSizeBytes !== undefined) doc.model_size_bytes = m.modelSizeBytes;
  doc.model_uuid = m.modelUuid;
  if (m.metadata !== undefined) doc.metadata = m.metadata;
  if (m.runId !== undefined) doc.run_id = m.runId;
  if (m.savedInputExampleInfo !== undefined) doc.saved_input_example_info = m.savedInputExampleInfo;
  if (m.signature !== undefined) doc.signature = signatureToMlmodel(m.signature);
  doc.utc_time_created = m.utcTimeCreated;
  Object.assign(doc, m.extra);
  // Block style and plain keys, as PyYAML's safe_dump writes; long JSON strings stay on one line.
  return stringify(doc, { lineWidth: 0, defaultStringType: "PLAIN", defaultKeyType: "PLAIN" });
}

export function mlmodelFromYaml(text: string, where: string): MlModel {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw invalidParameter(`Cannot read the MLmodel file at ${where}: not YAML (${(err as Error).message.split("\n")[0]}).`);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc))
    throw invalidParameter(`Cannot read the MLmodel file at ${where}: expected a YAML mapping with "flavors", got ${JSON.stringify(doc)}.`);
  const d = doc as Record<string, any>;
  if (d.flavors === null || typeof d.flavors !== "object" || Array.isArray(d.flavors))
    throw invalidParameter(`Cannot read the MLmodel file at ${where}: it has no "flavors" mapping.`);
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) if (!KNOWN.has(k)) extra[k] = v;
  return {
    artifactPath: d.artifact_path ?? undefined,
    runId: d.run_id ?? undefined,
    modelId: d.model_id ?? undefined,
    modelUuid: d.model_uuid ?? "",
    utcTimeCreated: String(d.utc_time_created ?? ""),
    flavors: d.flavors,
    signature: d.signature ? signatureFromMlmodel(d.signature) : undefined,
    savedInputExampleInfo: d.saved_input_example_info ?? undefined,
    modelSizeBytes: d.model_size_bytes ?? undefined,
    metadata: d.metadata ?? undefined,
    extra,
  };
}

export async function writeMlmodel(dir: string, m: MlModel): Promise<void> {
  await writeFile(join(dir, MLMODEL_FILE_NAME), mlmodelToYaml(m));
}

/** Reads `<dir>/MLmodel`; a folder without one is RESOURCE_DOES_NOT_EXIST naming the folder. */
export async function readMlmodel(dir: string): Promise<MlModel> {
  const file = join(dir, MLMODEL_FILE_NAME);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR")
      throw notFound(
        `No MLflow model at ${JSON.stringify(dir)}: it has no MLmodel file (expected a folder written by logModel or MLflow's save_model).`,
      );
    throw new MlflowError("INTERNAL_ERROR", `Cannot read ${file}: ${(err as Error).message}`, undefined, { cause: err });
  }
  return mlmodelFromYaml(text, file);
}
