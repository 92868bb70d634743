// Datasets as MLflow records them for a run's inputs: a name, a digest of the content, where it
// came from, its schema (MLflow's column specs) and a profile. `datasetFromRecords` describes an
// array of records the way MLflow describes a DataFrame; `toDatasetInput` checks a dataset given
// by hand and adds the context tag (`mlflow.data.context`: training, validation, eval, ...).

import { createHash } from "node:crypto";
import type { Dataset, DatasetInput } from "./entities.js";
import { invalidParameter } from "./errors.js";

export const DATASET_CONTEXT_TAG = "mlflow.data.context";

/** MLflow's column types (`mlflow.types.DataType`) that JSON values map onto. */
type ColumnType = "string" | "long" | "double" | "boolean" | "datetime" | "binary";
interface ColumnSpec {
  type: ColumnType;
  name: string;
  required: boolean;
}

/** What a dataset is given as: MLflow's fields, `source` as a URI or as MLflow's JSON text. */
export interface DatasetDescriptor {
  name: string;
  digest?: string;
  source?: string;
  sourceType?: string;
  schema?: string | object;
  profile?: string | object;
}

/**
 * Describes an array of records (one object per row) as MLflow describes a DataFrame:
 * digest = the first 8 hex of an MD5 over the rows (stable for the same content), schema =
 * `{"mlflow_colspec": [...]}`, profile = `{"num_rows", "num_elements"}`.
 */
export function datasetFromRecords(
  rows: readonly Record<string, unknown>[],
  opts: { name?: string; source?: string; targets?: string } = {},
): Dataset {
  if (!Array.isArray(rows)) throw invalidParameter(`A dataset's rows must be an array of records; got ${describe(rows)}.`);
  const columns = new Map<string, { types: Set<ColumnType>; missing: boolean }>();
  rows.forEach((row, i) => {
    if (row === null || typeof row !== "object" || Array.isArray(row))
      throw invalidParameter(`Row ${i} of the dataset is ${describe(row)}; each row must be an object of column values.`);
    for (const [key, value] of Object.entries(row)) {
      const col = columns.get(key) ?? { types: new Set<ColumnType>(), missing: i > 0 };
      if (value === null || value === undefined) col.missing = true;
      else col.types.add(columnType(value));
      columns.set(key, col);
    }
    for (const [key, col] of columns) if (!(key in row)) col.missing = true;
  });
  const colspec: ColumnSpec[] = [...columns].map(([name, c]) => ({ type: widest(c.types), name, required: !c.missing }));
  const digest = createHash("md5").update(JSON.stringify(rows)).digest("hex").slice(0, 8);
  const profile: Record<string, number> = { num_rows: rows.length, num_elements: rows.length * columns.size };
  const schema: Record<string, unknown> = { mlflow_colspec: colspec };
  if (opts.targets !== undefined) {
    if (!columns.has(opts.targets))
      throw invalidParameter(
        `targets ${JSON.stringify(opts.targets)} is not a column of the dataset; columns: ${[...columns.keys()].join(", ")}.`,
      );
  }
  return {
    name: opts.name ?? "dataset",
    digest,
    ...sourceFields(opts.source),
    schema: JSON.stringify(schema),
    profile: JSON.stringify(profile),
  };
}

/** A dataset (from `datasetFromRecords` or given by hand) as a run input with its context. */
export function toDatasetInput(dataset: DatasetDescriptor | Dataset, context?: string): DatasetInput {
  if (dataset === null || typeof dataset !== "object")
    throw invalidParameter(`logInput needs a dataset object ({ name, digest?, source?, schema?, profile? }); got ${describe(dataset)}.`);
  const { name } = dataset;
  if (typeof name !== "string" || name.trim() === "") throw invalidParameter(`A dataset needs a non-empty name; got ${describe(name)}.`);
  if (context !== undefined && (typeof context !== "string" || context.trim() === ""))
    throw invalidParameter(`context must be a non-empty string such as "training" or "eval"; got ${describe(context)}.`);
  const json = (v: unknown, what: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v === "string") return v;
    if (typeof v === "object" && v !== null) return JSON.stringify(v);
    throw invalidParameter(`A dataset's ${what} must be JSON text or an object; got ${describe(v)}.`);
  };
  const given = dataset as DatasetDescriptor;
  const schema = json(given.schema, "schema");
  const profile = json(given.profile, "profile");
  // Without a digest, one is derived from what describes the dataset, so logging it again is idempotent.
  const digest =
    given.digest ??
    createHash("md5")
      .update(JSON.stringify([name, given.source ?? "", schema ?? "", profile ?? ""]))
      .digest("hex")
      .slice(0, 8);
  const source = given.sourceType !== undefined ? { sourceType: given.sourceType, source: given.source ?? "" } : sourceFields(given.source);
  const out: Dataset = { name, digest, ...source };
  if (schema !== undefined) out.schema = schema;
  if (profile !== undefined) out.profile = profile;
  return { dataset: out, tags: context ? [{ key: DATASET_CONTEXT_TAG, value: context }] : [] };
}

/** MLflow's source fields: a URI becomes `{"uri": ...}` of type http/local/s3...; JSON text is kept. */
function sourceFields(source: string | undefined): { sourceType: string; source: string } {
  if (source === undefined || source === "") return { sourceType: "code", source: JSON.stringify({}) };
  if (source.trim().startsWith("{")) return { sourceType: "code", source };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(source)?.[1]?.toLowerCase();
  const sourceType = !scheme || scheme === "file" ? "local" : scheme === "https" ? "http" : scheme;
  return { sourceType, source: JSON.stringify({ uri: source }) };
}

function columnType(v: unknown): ColumnType {
  if (typeof v === "boolean") return "boolean";
  if (typeof v === "number") return Number.isInteger(v) ? "long" : "double";
  if (typeof v === "bigint") return "long";
  if (v instanceof Date) return "datetime";
  if (v instanceof Uint8Array) return "binary";
  return "string";
}

function widest(types: Set<ColumnType>): ColumnType {
  if (types.size === 0) return "string";
  if (types.size === 1) return [...types][0]!;
  if ([...types].every((t) => t === "long" || t === "double")) return "double";
  return "string";
}

const describe = (v: unknown): string => {
  if (v === undefined) return "undefined";
  try {
    return JSON.stringify(v)?.slice(0, 80) ?? String(v);
  } catch {
    return String(v);
  }
};
