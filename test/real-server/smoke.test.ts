// The tier's servers are up and are the versions asked for.
import { expect, it } from "vitest";
import { forEachRealServer } from "../support/mlflow-servers.js";

forEachRealServer("real server", (s) => {
  it("answers /health and /version", async () => {
    expect((await fetch(s.url + "/health")).status).toBe(200);
    expect((await (await fetch(s.url + "/version")).text()).startsWith(s.version)).toBe(true);
  });
});
