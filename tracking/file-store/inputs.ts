// Datasets as a run's inputs, in the layout MLflow's FileStore uses (the same in 2.x and 3.x):
// each dataset once per experiment in `<exp>/datasets/<md5(name + digest)>/meta.yaml`, and one
// link per run in `<run>/inputs/<md5(dataset_id + run_id)>/meta.yaml` with the input's tags.
// Both directories are published whole (built aside, then renamed into place), since MLflow's
// readers fail on an input directory without its meta.yaml.

import { createHash } from "node:crypto";
import fs from "node:fs";
import { join } from "node:path";
import type { Dataset, DatasetInput, Tag } from "../entities.js";
import { invalidParameter, MlflowError } from "../errors.js";
import { validateTag } from "../validation.js";
import { corrupt, isExists, isTempFile, readYamlSync, toYaml } from "./fsio.js";

export const DATASETS = "datasets";
export const INPUTS = "inputs";

/** MLflow's `InputVertexType` names as the input meta.yaml spells them. */
const SOURCE_DATASET = "DATASET";
const DESTINATION_RUN = "RUN";

const md5 = (...parts: string[]) => {
  const h = createHash("md5");
  for (const p of parts) h.update(p, "utf8");
  return h.digest("hex");
};
export const datasetId = (d: Pick<Dataset, "name" | "digest">) => md5(d.name, d.digest);
export const inputId = (dsId: string, runId: string) => md5(dsId, runId);

// ---- validation --------------------------------------------------------------------------

const show = (v: unknown) => (v === undefined ? "undefined" : (JSON.stringify(v)?.slice(0, 80) ?? String(v)));

/** Checks what logInputs is given before anything is written. */
export function validateDatasetInputs(datasets: unknown): asserts datasets is DatasetInput[] {
  if (!Array.isArray(datasets))
    throw invalidParameter(`logInputs needs an array of dataset inputs ({ dataset, tags }); got ${show(datasets)}.`);
  datasets.forEach((input: unknown, i) => {
    const d = (input as DatasetInput | null)?.dataset as unknown as Record<string, unknown> | undefined;
    if (!d || typeof d !== "object") throw invalidParameter(`Dataset input ${i} has no dataset object; got ${show(input)}.`);
    if (typeof d.name !== "string" || d.name === "")
      throw invalidParameter(`Dataset input ${i}: name must be a non-empty string; got ${show(d.name)}.`);
    for (const field of ["digest", "sourceType", "source"] as const)
      if (typeof d[field] !== "string") throw invalidParameter(`Dataset '${d.name}': ${field} must be a string; got ${show(d[field])}.`);
    for (const field of ["schema", "profile"] as const)
      if (d[field] !== undefined && typeof d[field] !== "string")
        throw invalidParameter(`Dataset '${d.name}': ${field} must be JSON text (a string) when given; got ${show(d[field])}.`);
    const tags = (input as DatasetInput).tags ?? [];
    if (!Array.isArray(tags)) throw invalidParameter(`Dataset '${d.name}': tags must be an array of { key, value }; got ${show(tags)}.`);
    tags.forEach(validateTag);
  });
}

// ---- meta.yaml contents ------------------------------------------------------------------

/** The dataset's meta.yaml mapping: MLflow's field names, absent schema/profile as null. */
const datasetToMeta = (d: Dataset): Record<string, unknown> => ({
  digest: d.digest,
  name: d.name,
  profile: d.profile ?? null,
  schema: d.schema ?? null,
  source: d.source,
  source_type: d.sourceType,
});

function datasetFromMeta(doc: Record<string, unknown>, file: string): Dataset {
  const text = (key: string, required: boolean): string | undefined => {
    const v = doc[key];
    if (v === undefined || v === null) {
      if (required) throw corrupt(file, `missing '${key}'`);
      return undefined;
    }
    if (typeof v === "object") throw corrupt(file, `'${key}' should be a string, found ${JSON.stringify(v)}`);
    return String(v);
  };
  const d: Dataset = {
    name: text("name", true)!,
    digest: text("digest", true)!,
    sourceType: text("source_type", true)!,
    source: text("source", true)!,
  };
  const schema = text("schema", false),
    profile = text("profile", false);
  if (schema !== undefined) d.schema = schema;
  if (profile !== undefined) d.profile = profile;
  return d;
}

// The run id goes into destination_id: MLflow's writer repeats the dataset id there, and its
// readers of dataset inputs never look at the field.
const inputToMeta = (dsId: string, runId: string, tags: Tag[]): Record<string, unknown> => ({
  destination_id: runId,
  destination_type: DESTINATION_RUN,
  source_id: dsId,
  source_type: SOURCE_DATASET,
  tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
});

function inputTags(doc: Record<string, unknown>, file: string): Tag[] {
  const tags = doc.tags ?? {};
  if (typeof tags !== "object" || Array.isArray(tags)) throw corrupt(file, `'tags' should be a mapping, found ${JSON.stringify(tags)}`);
  return Object.entries(tags as Record<string, unknown>).map(([key, value]) => ({ key, value: value === null ? "" : String(value) }));
}

// ---- publishing ----------------------------------------------------------------------------

let staged = 0;

/**
 * Creates `<parent>/<name>/meta.yaml` unless `<parent>/<name>` exists: the directory is built
 * under `stagingParent` (a place no reader lists as entries) and renamed into place, which
 * fails when another writer got there first. Returns false when it already existed.
 */
function publishMetaDir(parent: string, name: string, stagingParent: string, doc: Record<string, unknown>): boolean {
  const target = join(parent, name);
  if (fs.existsSync(target)) return false;
  fs.mkdirSync(parent, { recursive: true });
  const staging = join(stagingParent, `${name}~tmp~${process.pid}-${(staged++).toString(36)}`);
  fs.mkdirSync(staging, { recursive: true });
  try {
    fs.writeFileSync(join(staging, "meta.yaml"), toYaml(doc));
    fs.renameSync(staging, target);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (isExists(e) || code === "ENOTEMPTY") return false;
    throw e;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

export class Inputs {
  constructor(private readonly warn: (e: MlflowError) => void) {}

  /**
   * Records each dataset as an input of the run. A dataset already in the experiment, or
   * already an input of the run, is left as it is (its first tags stand), as MLflow does.
   */
  log(expDir: string, runDir: string, runId: string, datasets: DatasetInput[]): void {
    const datasetsDir = join(expDir, DATASETS);
    for (const { dataset, tags } of datasets) {
      const dsId = datasetId(dataset);
      // Staged inside datasets/ itself: MLflow only ever looks names up there.
      publishMetaDir(datasetsDir, dsId, datasetsDir, datasetToMeta(dataset));
      // Staged at the run's top level, which readers only search for named folders.
      publishMetaDir(join(runDir, INPUTS), inputId(dsId, runId), runDir, inputToMeta(dsId, runId, tags ?? []));
    }
  }

  /**
   * The run's dataset inputs, in input-directory name order. Inputs of other kinds (MLflow 3's
   * LoggedModel inputs) are passed over; an input whose dataset is missing is reported and skipped.
   */
  read(expDir: string, runDir: string, runId: string): DatasetInput[] {
    const inputsDir = join(runDir, INPUTS);
    // Most runs have no inputs: a check that cannot throw is cheaper than a failed readdir.
    if (!fs.existsSync(inputsDir)) return [];
    let names: string[];
    try {
      names = fs
        .readdirSync(inputsDir)
        .filter((n) => !isTempFile(n))
        .sort();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return [];
      throw e;
    }
    const out: DatasetInput[] = [];
    for (const name of names) {
      const file = join(inputsDir, name, "meta.yaml");
      const doc = readYamlSync(file);
      if (!doc) continue; // not an input directory
      if (doc.source_type !== SOURCE_DATASET) continue;
      if (typeof doc.source_id !== "string" || !/^[0-9a-f]{32}$/.test(doc.source_id))
        throw corrupt(file, `'source_id' should be a dataset id (32 hex digits), found ${JSON.stringify(doc.source_id)}`);
      const dsFile = join(expDir, DATASETS, doc.source_id, "meta.yaml");
      const dsDoc = readYamlSync(dsFile);
      if (!dsDoc) {
        this.warn(corrupt(dsFile, `missing: dataset '${doc.source_id}' is an input of run '${runId}' but is not in its experiment`));
        continue;
      }
      out.push({ dataset: datasetFromMeta(dsDoc, dsFile), tags: inputTags(doc, file) });
    }
    return out;
  }
}
