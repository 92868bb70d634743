import { defineConfig } from "vitest/config";

// Tests spawn the compiled kernel (dist/), so `npm test` builds first. The global setup gives
// the run its own cache and spool directories and starts the real MLflow servers.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
  },
});
