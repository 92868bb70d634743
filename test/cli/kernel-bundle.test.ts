// The kernel bundle (build/kernel-bundle.mjs, cli/kernel-bundle.ts): `tslab-mlflow kernel`
// runs it when it is current, runs dist/ module by module when it is absent or outdated, and
// either way the kernel works. Each kernel here runs from a copy of dist/ (beside a
// package.json of its own, under test-artifacts/ so the repo's node_modules resolve), with a
// module loader hook that lists every module the process loads.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentKernelBundle, type KernelBundleManifest } from "../../cli/kernel-bundle.js";
import { KernelClient } from "../../jupyter-client/index.js";
import { makeTempDir, REPO_ROOT, rmTempDir } from "../support/paths.js";
import { run } from "../support/run.js";

const DIST = path.join(REPO_ROOT, "dist");
const BUILD_SCRIPT = path.join(REPO_ROOT, "build", "kernel-bundle.mjs");
const VERSION = "0.0.0-bundle-test";

let tmp: string;

beforeAll(() => {
  tmp = makeTempDir("kernel-bundle");
});
afterAll(() => rmTempDir(tmp));

/** A copy of dist/ with its own package.json (version VERSION); `bundle: false` leaves the bundle out. */
function copyDist(name: string, { bundle = true } = {}): string {
  const root = path.join(tmp, name);
  fs.cpSync(DIST, path.join(root, "dist"), {
    recursive: true,
    filter: (src) => bundle || !src.startsWith(path.join(DIST, "kernel-bundle")),
  });
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
  fs.writeFileSync(path.join(root, "package.json"), JSON.stringify({ ...pkg, version: VERSION }));
  return root;
}

/** Node's --import of a hook that appends the URL of every module loaded to `list`. */
function loadListing(list: string): string[] {
  const hooks = `import fs from "node:fs";
export async function load(url, context, next) { fs.appendFileSync(${JSON.stringify(list)}, url + "\\n"); return next(url, context); }`;
  const register = `import { register } from "node:module";
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  return ["--import", `data:text/javascript,${encodeURIComponent(register)}`];
}

/** Runs `tslab-mlflow kernel` from `root`: kernel_info, a cell and a magic; returns what it answered and the modules it loaded. */
async function kernelFrom(root: string) {
  const list = path.join(root, `loaded-${Date.now()}.txt`);
  const kernel = await KernelClient.start({
    argv: [
      process.execPath,
      ...loadListing(list),
      path.join(root, "dist", "cli", "main.js"),
      "kernel",
      "--connection-file",
      "{connection_file}",
    ],
    interruptMode: "message",
    cwd: root,
    stdio: "pipe",
    startTimeout: 60_000,
  });
  try {
    const sum = await kernel.execute("1+1");
    const magic = await kernel.execute("%lsmagic");
    const info = kernel.kernelInfo?.content as { implementation_version: string; banner: string };
    return {
      info,
      sum: sum.outputs.find((m) => m.header.msg_type === "execute_result")?.content.data as Record<string, string> | undefined,
      magic: magic.reply.content.status,
      loaded: () => fs.readFileSync(list, "utf8").trim().split("\n"),
    };
  } finally {
    await kernel.shutdown();
    await kernel.close();
  }
}

const under = (root: string, rel: string) => pathToFileURL(path.join(root, "dist", rel)).href;

describe("tslab-mlflow kernel and the kernel bundle", () => {
  it("runs the bundle when it is current: its modules, not dist/'s, and no commander", async () => {
    const root = copyDist("current");
    const k = await kernelFrom(root);
    expect(k.sum?.["text/plain"]).toBe("2");
    expect(k.magic).toBe("ok");
    // import.meta.url inside the bundle is the original file's: kernel-info finds ../../package.json of this copy.
    expect(k.info.implementation_version).toBe(VERSION);
    const loaded = k.loaded();
    expect(loaded.filter((u) => u.startsWith(under(root, "kernel-bundle/"))).length).toBeGreaterThan(3);
    expect(loaded).not.toContain(under(root, "kernel/index.js"));
    expect(loaded).not.toContain(under(root, "magics/extension.js"));
    expect(loaded).not.toContain(under(root, "cli/program.js"));
    expect(loaded.some((u) => u.includes("/node_modules/commander/"))).toBe(false);
  });

  it("runs dist/ module by module when the bundle is absent (tsc alone built dist/)", async () => {
    const root = copyDist("absent", { bundle: false });
    const k = await kernelFrom(root);
    expect(k.sum?.["text/plain"]).toBe("2");
    expect(k.magic).toBe("ok");
    expect(k.info.implementation_version).toBe(VERSION);
    const loaded = k.loaded();
    expect(loaded).toContain(under(root, "kernel/index.js"));
    expect(loaded).toContain(under(root, "magics/extension.js"));
    expect(loaded.some((u) => u.startsWith(under(root, "kernel-bundle/")))).toBe(false);
  });

  it("never runs a bundle that tsc has outdated: the edited dist/ file is what runs", async () => {
    const root = copyDist("outdated");
    const file = path.join(root, "dist", "kernel", "kernel-info.js");
    const js = fs.readFileSync(file, "utf8");
    expect(js).toContain("banner: `tslab-mlflow ");
    fs.writeFileSync(file, js.replace("banner: `tslab-mlflow ", "banner: `tslab-mlflow (edited) "));
    const k = await kernelFrom(root);
    expect(k.sum?.["text/plain"]).toBe("2");
    expect(k.info.banner).toMatch(/^tslab-mlflow \(edited\) /);
    expect(k.loaded().some((u) => u.startsWith(under(root, "kernel-bundle/")))).toBe(false);

    // Built again, the bundle is current and carries the edit.
    const build = await run(process.execPath, [BUILD_SCRIPT, path.join(root, "dist")]);
    expect(build.status, build.stderr).toBe(0);
    const again = await kernelFrom(root);
    expect(again.info.banner).toMatch(/^tslab-mlflow \(edited\) /);
    expect(again.loaded().some((u) => u.startsWith(under(root, "kernel-bundle/")))).toBe(true);
  });
});

describe("currentKernelBundle", () => {
  it("accepts a bundle whose inputs are unchanged (by mtime, or by content when the mtime moved) and refuses any other", () => {
    const root = copyDist("check");
    const dist = path.join(root, "dist");
    const manifestFile = path.join(dist, "kernel-bundle", "manifest.json");
    const manifest: KernelBundleManifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
    const entry = pathToFileURL(path.join(dist, "kernel-bundle", manifest.entry)).href;
    const i = manifest.inputs.files.indexOf("kernel/kernel.js");
    expect(i).toBeGreaterThanOrEqual(0);
    const input = path.join(dist, "kernel", "kernel.js");
    const size = manifest.inputs.sizes[i];
    const mtimes = () => manifest.inputs.files.map((f) => fs.statSync(path.join(dist, f)).mtimeMs);

    // Copied: every mtime differs, the contents are the same; the new mtimes are remembered.
    expect(manifest.inputs.mtimes).not.toEqual(mtimes());
    expect(currentKernelBundle(dist)).toBe(entry);
    const remembered: KernelBundleManifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
    expect(remembered.inputs.mtimes).toEqual(mtimes());
    expect({ ...remembered, inputs: { ...remembered.inputs, mtimes: [] } }).toEqual({
      ...manifest,
      inputs: { ...manifest.inputs, mtimes: [] },
    });
    expect(currentKernelBundle(dist)).toBe(entry);

    // Other contents of the same size, with a new mtime: outdated. The same contents again: current.
    const js = fs.readFileSync(input, "utf8");
    const at = js.indexOf("Kernel");
    fs.writeFileSync(input, `${js.slice(0, at)}Kernex${js.slice(at + 6)}`);
    expect(fs.statSync(input).size).toBe(size);
    expect(currentKernelBundle(dist)).toBeUndefined();
    fs.writeFileSync(input, js);
    expect(currentKernelBundle(dist)).toBe(entry);

    fs.appendFileSync(input, "\n");
    expect(currentKernelBundle(dist)).toBeUndefined();
    fs.rmSync(input);
    expect(currentKernelBundle(dist)).toBeUndefined();
    fs.writeFileSync(input, js);
    expect(currentKernelBundle(dist)).toBe(entry);
    fs.rmSync(path.join(dist, "kernel-bundle", manifest.entry));
    expect(currentKernelBundle(dist)).toBeUndefined();
    fs.rmSync(path.join(dist, "kernel-bundle"), { recursive: true });
    expect(currentKernelBundle(dist)).toBeUndefined();
  });
});

describe("npm pack", () => {
  it("packs the kernel bundle with dist/", async () => {
    const r = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO_ROOT });
    expect(r.status, r.stderr).toBe(0);
    const files: string[] = JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path);
    const manifest = JSON.parse(fs.readFileSync(path.join(DIST, "kernel-bundle", "manifest.json"), "utf8"));
    expect(files).toContain("dist/kernel-bundle/manifest.json");
    for (const out of manifest.outputs as string[]) expect(files).toContain(`dist/kernel-bundle/${out}`);
    expect(files).toContain("dist/cli/main.js");
  });
});
