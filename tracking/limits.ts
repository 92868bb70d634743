// MLflow's limits, in one place. Values match what a real MLflow 2.22 server enforces
// (see the recorded exchanges 040–058 in shared/mlflow-wire).

/** Metrics accepted in one log-batch request. */
export const MAX_METRICS_PER_BATCH = 1000;
/** Params accepted in one log-batch request. */
export const MAX_PARAMS_PER_BATCH = 100;
/** Tags accepted in one log-batch request. */
export const MAX_TAGS_PER_BATCH = 100;
/** Metrics + params + tags accepted in one log-batch request. */
export const MAX_ENTITIES_PER_BATCH = 1000;
/** Longest metric, param or tag key. */
export const MAX_KEY_LENGTH = 250;
/** Longest param value (the server cuts longer ones silently; we refuse them). */
export const MAX_PARAM_VALUE_LENGTH = 6000;
/** Longest tag value (the server cuts longer ones silently; we refuse them). */
export const MAX_TAG_VALUE_LENGTH = 8000;
/** Longest run name (MLflow's runs table holds 250 characters; sqlite does not enforce it, the file store does). */
export const MAX_RUN_NAME_LENGTH = 250;
/** Longest experiment name (MLflow's experiments table holds 256 characters). */
export const MAX_EXPERIMENT_NAME_LENGTH = 256;
/** Largest page a search may ask for. */
export const MAX_RESULTS_PER_PAGE = 50_000;
/** The page size MLflow's own clients use when none is given. */
export const DEFAULT_SEARCH_MAX_RESULTS = 1000;
/** Page size of metrics/get-history: what MLflow 3.x's Python client and UI send. */
export const METRIC_HISTORY_PAGE_SIZE = 25_000;
