// Filter + order_by + pages over in-memory entities, per MLflow's rules for each kind:
// runs (default order start_time DESC, run_id ASC), experiments (creation_time DESC,
// experiment_id), registered models (name ASC) and model versions (newest first).

import type { Experiment, ModelVersion, Page, RegisteredModel, Run } from "../entities.js";
import { type Accessor, matches, parseFilter } from "./filter.js";
import {
  EXPERIMENT_GRAMMAR,
  type EntityType,
  type Grammar,
  MODEL_VERSION_GRAMMAR,
  REGISTERED_MODEL_GRAMMAR,
  RUN_GRAMMAR,
} from "./grammar.js";
import { type OrderBy, parseOrderBy, sortBy } from "./order-by.js";
import { paginate } from "./page.js";

export interface SearchArgs {
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
}

const tagOf = (tags: { key: string; value: string }[], key: string) => tags.find((t) => t.key === key)?.value;

export const runAccessor: Accessor<Run> = (run, type, key) => {
  switch (type) {
    case "metric":
      return run.data.metrics.find((m) => m.key === key)?.value;
    case "parameter":
      return tagOf(run.data.params, key);
    case "tag":
      return tagOf(run.data.tags, key);
    case "attribute": {
      const i = run.info;
      const attrs: Record<string, string | number | undefined> = {
        run_id: i.runId,
        run_name: i.runName,
        status: i.status,
        artifact_uri: i.artifactUri,
        user_id: i.userId,
        start_time: i.startTime,
        end_time: i.endTime,
        experiment_id: i.experimentId,
        lifecycle_stage: i.lifecycleStage,
      };
      return attrs[key];
    }
  }
};

export const experimentAccessor: Accessor<Experiment> = (e, type, key) => {
  if (type === "tag") return tagOf(e.tags, key);
  const attrs: Record<string, string | number | undefined> = {
    name: e.name,
    experiment_id: e.experimentId,
    creation_time: e.creationTime,
    last_update_time: e.lastUpdateTime,
  };
  return attrs[key];
};

export const registeredModelAccessor: Accessor<RegisteredModel> = (m, type, key) => {
  if (type === "tag") return tagOf(m.tags, key);
  const attrs: Record<string, string | number | undefined> = {
    name: m.name,
    creation_timestamp: m.creationTimestamp,
    last_updated_timestamp: m.lastUpdatedTimestamp,
  };
  return attrs[key];
};

export const modelVersionAccessor: Accessor<ModelVersion> = (v, type, key) => {
  if (type === "tag") return tagOf(v.tags, key);
  const attrs: Record<string, string | number | undefined> = {
    name: v.name,
    run_id: v.runId,
    source: v.source,
    version: Number(v.version),
    creation_timestamp: v.creationTimestamp,
    last_updated_timestamp: v.lastUpdatedTimestamp,
  };
  return attrs[key];
};

function search<T>(items: T[], args: SearchArgs, grammar: Grammar, get: Accessor<T>, defaults: string[], tieBreak?: OrderBy): Page<T> {
  const clauses = parseFilter(args.filter, grammar);
  const orders = (args.orderBy?.length ? args.orderBy : defaults).map((o) => parseOrderBy(o, grammar));
  if (tieBreak && !orders.some((o) => o.type === tieBreak.type && o.key === tieBreak.key)) orders.push(tieBreak);
  const filtered = clauses.length ? items.filter((x) => matches(x, clauses, get)) : items;
  return paginate(
    sortBy(filtered, orders, get as (x: T, t: EntityType, k: string) => string | number | undefined),
    args.pageToken,
    args.maxResults,
  );
}

export function searchRunList(runs: Run[], args: SearchArgs): Page<Run> {
  // MLflow first orders by (start_time DESC, run_id ASC), then applies order_by on top
  // with a stable sort, so the natural order breaks every tie.
  const natural = sortBy(
    runs,
    [
      { type: "attribute", key: "start_time", ascending: false },
      { type: "attribute", key: "run_id", ascending: true },
    ],
    runAccessor,
  );
  return search(natural, args, RUN_GRAMMAR, runAccessor, []);
}

export const searchExperimentList = (experiments: Experiment[], args: SearchArgs): Page<Experiment> =>
  search(experiments, args, EXPERIMENT_GRAMMAR, experimentAccessor, ["creation_time DESC", "experiment_id ASC"], {
    type: "attribute",
    key: "experiment_id",
    ascending: false,
  });

export const searchRegisteredModelList = (models: RegisteredModel[], args: SearchArgs): Page<RegisteredModel> =>
  search(models, args, REGISTERED_MODEL_GRAMMAR, registeredModelAccessor, ["name ASC"], {
    type: "attribute",
    key: "name",
    ascending: true,
  });

export const searchModelVersionList = (versions: ModelVersion[], args: SearchArgs): Page<ModelVersion> =>
  search(versions, args, MODEL_VERSION_GRAMMAR, modelVersionAccessor, ["last_updated_timestamp DESC", "name ASC", "version_number DESC"]);
