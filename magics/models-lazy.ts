// models/ (MLmodel YAML, signatures, flavours, batch inference, with yaml and csv-parse) loads
// on first use: the `mlflow` methods that need it (logModel, loadModel) load it here when
// called, and the magics that need it (%mlflow_predict, mlflow.batchPredict, %mlflow_compare)
// with their implementation modules, so a kernel loads none of it before its first cell.

type Models = typeof import("../models/index.js");

let loading: Promise<Models> | undefined;

export const loadModels = (): Promise<Models> => (loading ??= import("../models/index.js"));
