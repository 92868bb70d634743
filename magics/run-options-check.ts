// The checks a run's options pass before anything is sent, the same for `%%mlflow_run` and
// `mlflow.startRun()` and for every store: run name, experiment, description, tags (valid,
// not repeated, not one of the tags the magics set themselves) and params (valid, not
// repeated). MLflow's own rules (key shape, lengths) come from tracking/validation.ts.

import { invalidParameter, validateExperimentName, validateParam, validateRunName, validateTag, type Tag } from "../tracking/index.js";
import { TAG } from "./system-tags.js";

/** Tags the magics write themselves, and where the user says the same thing instead. */
const OWN_TAGS: ReadonlyMap<string, string> = new Map([
  [TAG.runName, "give the run's name as NAME (the first argument) or startRun({ runName })"],
  [TAG.note, "use --description TEXT (startRun({ description }))"],
  [TAG.parentRunId, "use --nested (startRun({ nested: true })) under an open run"],
  [TAG.user, "it is the user running the kernel"],
  [TAG.sourceType, "it is always NOTEBOOK"],
  [TAG.sourceName, "it is the notebook's path"],
  [TAG.gitCommit, "it is read from git"],
  [TAG.gitBranch, "it is read from git"],
  [TAG.gitDirty, "it is read from git"],
  [TAG.cellId, "it is the cell's id"],
  [TAG.executionCount, "it is the cell's execution count"],
]);

/** Refuses a tag the magics set themselves, naming it and what to do instead. */
export function checkOwnTag(key: string): void {
  const instead = OWN_TAGS.get(key);
  if (instead !== undefined) {
    throw invalidParameter(
      `Tag ${JSON.stringify(key)} is set by tslab-mlflow itself and cannot be given (${instead}). ` +
        `Reserved: ${[...OWN_TAGS.keys()].join(", ")}.`,
    );
  }
}

/** Refuses a key given twice (the second value would silently win), naming it. */
function checkUnique(items: readonly { key: string; value: string }[], what: string): void {
  const seen = new Map<string, string>();
  for (const { key, value } of items) {
    const before = seen.get(key);
    if (before !== undefined)
      throw invalidParameter(
        `${what} ${JSON.stringify(key)} is given twice (${JSON.stringify(before)} and ${JSON.stringify(value)}); give each ${what.toLowerCase()} once.`,
      );
    seen.set(key, value);
  }
}

export function checkParams(params: readonly { key: string; value: string }[]): void {
  params.forEach((p) => validateParam(p));
  checkUnique(params, "Param");
}

export function checkTags(tags: readonly Tag[]): void {
  for (const t of tags) {
    validateTag(t);
    checkOwnTag(t.key);
  }
  checkUnique(tags, "Tag");
}

export interface RunOptionsToCheck {
  runName?: string;
  experiment?: string;
  description?: string;
  resume?: string;
  tags?: Tag[];
}

/** Everything about a run that can be refused, checked before the run exists. */
export function checkStartRun(o: RunOptionsToCheck): void {
  if (o.runName !== undefined) validateRunName(o.runName);
  if (o.experiment !== undefined) validateExperimentName(o.experiment);
  if (o.description !== undefined) validateTag({ key: TAG.note, value: o.description });
  if (o.resume !== undefined && (typeof o.resume !== "string" || !/^[\w-]+$/.test(o.resume)))
    throw invalidParameter(`Invalid run id ${JSON.stringify(o.resume)} for resume: a run id is letters, digits, '_' or '-'.`);
  if (o.tags) checkTags(o.tags);
}
