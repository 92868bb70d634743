// The search grammars MLflow accepts, as data: which entity prefixes exist (metrics.,
// params., tags., attributes.), which attributes are searchable or orderable, which are
// numeric, and which comparators each kind of identifier takes. One grammar per searchable
// thing (runs, experiments, registered models, model versions).

export type EntityType = "metric" | "parameter" | "tag" | "attribute";

export const METRIC_COMPARATORS = ["=", "!=", ">", ">=", "<", "<="] as const;
export const STRING_COMPARATORS = ["=", "!=", "LIKE", "ILIKE"] as const;
export const STRING_ATTRIBUTE_COMPARATORS = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"] as const;
export type Comparator = (typeof STRING_ATTRIBUTE_COMPARATORS)[number] | (typeof METRIC_COMPARATORS)[number];

export interface Grammar {
  /** What the searched things are called, for messages. */
  subject: string;
  /** Accepted prefixes and the entity each one names. */
  prefixes: Record<string, EntityType>;
  /** Attributes accepted in filters. */
  searchAttributes: readonly string[];
  /** Attributes accepted in order_by. */
  orderAttributes: readonly string[];
  /** Attributes compared as numbers. */
  numericAttributes: readonly string[];
  /** Attributes that accept `IN (...)` / `NOT IN (...)`. */
  listAttributes: readonly string[];
  /** Other spellings of attributes (MLflow's `created`, `Run name`, ...). */
  aliases: Record<string, string>;
  /** Comparators per identifier kind. */
  comparators: {
    metric: readonly string[];
    parameter: readonly string[];
    tag: readonly string[];
    stringAttribute: readonly string[];
    numericAttribute: readonly string[];
  };
}

const ENTITY_PREFIXES: Record<string, EntityType> = {
  metric: "metric",
  metrics: "metric",
  parameter: "parameter",
  parameters: "parameter",
  param: "parameter",
  params: "parameter",
  tag: "tag",
  tags: "tag",
  attribute: "attribute",
  attributes: "attribute",
  attr: "attribute",
  run: "attribute",
};

const COMMON_COMPARATORS = {
  metric: METRIC_COMPARATORS,
  parameter: STRING_COMPARATORS,
  tag: STRING_COMPARATORS,
  stringAttribute: STRING_ATTRIBUTE_COMPARATORS,
  numericAttribute: METRIC_COMPARATORS,
};

export const RUN_GRAMMAR: Grammar = {
  subject: "runs",
  prefixes: ENTITY_PREFIXES,
  searchAttributes: [
    "run_id",
    "run_name",
    "status",
    "artifact_uri",
    "user_id",
    "start_time",
    "end_time",
    "created",
    "Created",
    "run name",
    "Run name",
    "Run Name",
  ],
  orderAttributes: [
    "run_id",
    "run_name",
    "status",
    "artifact_uri",
    "user_id",
    "start_time",
    "end_time",
    "experiment_id",
    "created",
    "Created",
  ],
  numericAttributes: ["start_time", "end_time", "created", "Created"],
  listAttributes: ["run_id"],
  aliases: { created: "start_time", Created: "start_time", "run name": "run_name", "Run name": "run_name", "Run Name": "run_name" },
  comparators: COMMON_COMPARATORS,
};

const ATTRIBUTE_AND_TAG_PREFIXES: Record<string, EntityType> = {
  attribute: "attribute",
  attributes: "attribute",
  tag: "tag",
  tags: "tag",
};

export const EXPERIMENT_GRAMMAR: Grammar = {
  subject: "experiments",
  prefixes: ATTRIBUTE_AND_TAG_PREFIXES,
  searchAttributes: ["name", "creation_time", "last_update_time"],
  orderAttributes: ["name", "experiment_id", "creation_time", "last_update_time"],
  numericAttributes: ["creation_time", "last_update_time"],
  listAttributes: [],
  aliases: {},
  comparators: COMMON_COMPARATORS,
};

export const REGISTERED_MODEL_GRAMMAR: Grammar = {
  subject: "registered models",
  prefixes: ATTRIBUTE_AND_TAG_PREFIXES,
  searchAttributes: ["name"],
  orderAttributes: ["name", "creation_timestamp", "last_updated_timestamp", "timestamp"],
  numericAttributes: ["creation_timestamp", "last_updated_timestamp", "timestamp"],
  listAttributes: [],
  aliases: { timestamp: "creation_timestamp" },
  comparators: COMMON_COMPARATORS,
};

export const MODEL_VERSION_GRAMMAR: Grammar = {
  subject: "model versions",
  prefixes: ATTRIBUTE_AND_TAG_PREFIXES,
  searchAttributes: ["name", "run_id", "source_path", "version_number"],
  orderAttributes: ["name", "version_number", "creation_timestamp", "last_updated_timestamp"],
  numericAttributes: ["version_number", "creation_timestamp", "last_updated_timestamp"],
  listAttributes: ["run_id", "name"],
  aliases: { source_path: "source", version_number: "version" },
  comparators: COMMON_COMPARATORS,
};

/** Python's printing of a set of strings, e.g. {'=', '!='}, as MLflow's messages show it. */
export const pySet = (items: readonly string[]) => `{${items.map((s) => `'${s}'`).join(", ")}}`;
