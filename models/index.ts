// The public face of models/: MLflow models written, logged, registered and loaded from
// TypeScript (MLmodel, signatures and schema enforcement, the tfjs and models-from-code
// flavours), and onnx models logged from Python loaded and served. Uses tracking/ through
// its index; knows nothing of Jupyter.

import type { MlflowClient } from "../tracking/index.js";
import { defaultModelCache, fetchModel } from "./fetch.js";
import { loadModelFromDir, type LoadedModel } from "./load-local.js";

export * from "./signature.js";
export { enforceSchema, SchemaMismatchError, givenType } from "./enforce.js";
export * from "./mlmodel.js";
export { encodeInputExample, readInputExample, EXAMPLE_FILENAME, SERVING_INPUT_FILENAME } from "./input-example.js";
export { ENVIRONMENT_FILE, modelEnvironment, packageName, type ModelEnvironment } from "./environment.js";
export { CODE_FLAVOR, type CodeModel, type ModelContext } from "./flavors/code.js";
export { TFJS_FLAVOR, isLayersModel } from "./flavors/tfjs.js";
export { ONNX_FLAVOR, ONNXRUNTIME_PACKAGE, ONNXRUNTIME_INSTALL } from "./flavors/onnx.js";
export { saveModel, type ModelInput, type SaveModelOptions } from "./save.js";
export { logModel, hasLoggedModels, type LogModelOptions, type ModelInfo } from "./log.js";
export { loadModelFromDir, SUPPORTED_FLAVORS, type LoadedModel, type ModelMetadata } from "./load-local.js";
export { defaultModelCache, fetchModel, resolveModelSource, type ModelSource } from "./fetch.js";
export {
  batchPredict,
  PREDICTION_COLUMN,
  DEFAULT_BATCH_SIZE,
  type BatchPredictOptions,
  type BatchPredictResult,
  type BatchProgress,
  type BadRow,
} from "./batch-predict.js";
export { openTable, createTableSink, formatOf, TABLE_FORMATS, type TableFormat, type TableRecord } from "./table-io.js";
export {
  parseScoringRequest,
  predictionsBody,
  errorAnswer,
  ScoringError,
  SCORING_FORMATS,
  SCORING_CONTENT_TYPES,
} from "./scoring-protocol.js";
export { startScoringServer, type ScoringServer, type ScoringServerOptions } from "./scoring-server.js";
export { modelVersionRuns, versionLabel, UNALIASED_VERSIONS, type VersionRun, type VersionRuns } from "./version-runs.js";

export interface LoadModelOptions {
  /** Download cache (default `$XDG_CACHE_HOME/tslab-mlflow/models`). */
  cacheDir?: string;
  /** Where the model's npm imports are looked up after the model folder (default: the working directory). */
  fromDirs?: string[];
}

/** `mlflow.pyfunc.load_model`: a model URI or local folder, downloaded once, loaded with its flavour. */
export async function loadModel(client: MlflowClient, uri: string, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  const { dir } = await fetchModel(client, uri, opts.cacheDir ?? defaultModelCache());
  return loadModelFromDir(dir, { fromDirs: opts.fromDirs });
}
