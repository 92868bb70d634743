import { defineConfig } from "vitest/config";

// Tests spawn the compiled kernel (dist/), so `npm test` builds first.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
  },
});
