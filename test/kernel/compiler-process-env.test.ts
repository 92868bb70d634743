// The environment of compiler processes (kernel/compiler/cache.ts): what is dropped because it
// costs start time, and glibc's huge-page tunable, which halves a snapshot restore's page faults.
import { describe, expect, it } from "vitest";
import { compilerProcessEnv } from "../../kernel/compiler/cache.js";

describe("a compiler process's environment", () => {
  it("leaves NODE_EXTRA_CA_CERTS out, adds the huge-page tunable and keeps the rest", () => {
    const env = compilerProcessEnv({ PATH: "/bin", NODE_EXTRA_CA_CERTS: "/etc/ca.pem" }, { EXTRA: "1" });
    expect(env).toEqual({ PATH: "/bin", GLIBC_TUNABLES: "glibc.malloc.hugetlb=1", EXTRA: "1" });
  });

  it("appends the tunable to the user's own, and keeps a huge-page choice the user made", () => {
    expect(compilerProcessEnv({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }).GLIBC_TUNABLES).toBe(
      "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1",
    );
    expect(compilerProcessEnv({ GLIBC_TUNABLES: "glibc.malloc.hugetlb=0" }).GLIBC_TUNABLES).toBe("glibc.malloc.hugetlb=0");
  });
});
