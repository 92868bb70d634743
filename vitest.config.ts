import { defineConfig } from "vitest/config";

// Two projects. `unit`: tests that start no process (no kernel, no server, no Python), seconds;
// `npm run test:unit` runs them alone, without a build. `system`: everything else (spawned
// kernels from dist/, Jupyter's tools, Chromium, real MLflow servers), so `npm test` builds first.
// A new test file is a system test unless listed here.
const UNIT = [
  "test/charts/**/*.test.ts",
  "test/protocol/**/*.test.ts",
  "test/models/code-model.test.ts",
  "test/models/enforce-records.test.ts",
  "test/models/logged-models-replay.test.ts",
  "test/models/scoring-protocol.test.ts",
  "test/models/signature.test.ts",
  "test/models/tfjs-model.test.ts",
  "test/models/unity-catalog-register.test.ts",
  "test/kernel/interrupt-state.test.ts",
  "test/kernel/one-program-per-cell.test.ts",
  "test/kernel/spare-converters.test.ts",
  "test/kernel/light-builder.test.ts",
  "test/kernel/commonjs-in-emit.test.ts",
  "test/kernel/unchanged-declarations.test.ts",
  "test/kernel/snapshot-key.test.ts",
  "test/kernel/wait-for-idle.test.ts",
  "test/kernel/units.test.ts",
  "test/magics/compare-model.test.ts",
  "test/magics/declaration.test.ts",
  "test/magics/pure.test.ts",
  "test/magics/open-tracking.test.ts",
  "test/magics/redact.test.ts",
  "test/magics/run-panel-model.test.ts",
  "test/magics/table-output.test.ts",
  "test/magics/validation.test.ts",
  "test/cli/ansi.test.ts",
  "test/cli/run-parameters.test.ts",
  "test/tracking/artifact-spool.test.ts",
  "test/tracking/atomic-write.test.ts",
  "test/tracking/databricks-serving.test.ts",
  "test/tracking/file-store-corrupt.test.ts",
  "test/tracking/file-store-fixture.test.ts",
  "test/tracking/file-store-flat-yaml.test.ts",
  "test/tracking/file-store-mlflow3.test.ts",
  "test/tracking/file-store-write.test.ts",
  "test/tracking/import-boundaries.test.ts",
  "test/tracking/logger-batcher.test.ts",
  "test/tracking/logger-filestore.test.ts",
  "test/tracking/logger-standin.test.ts",
  "test/tracking/logger-states.test.ts",
  "test/tracking/logger.test.ts",
  "test/tracking/rest-client.test.ts",
  "test/tracking/rest-paging.test.ts",
  "test/tracking/rest-replay.test.ts",
  "test/tracking/rest-retry.test.ts",
  "test/tracking/search.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "unit", include: UNIT, globalSetup: ["test/setup/run-dirs.ts"] } },
      {
        extends: true,
        test: {
          name: "system",
          include: ["test/**/*.test.ts"],
          exclude: UNIT,
          globalSetup: ["test/setup/run-dirs.ts", "test/setup/real-servers.ts"],
        },
      },
    ],
  },
});
