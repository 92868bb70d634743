// The compiler's side of the kernel ↔ compiler conversation: hosts tslab's TypeScript
// converter and answers convert / complete / inspect / isComplete requests. It runs in a
// worker thread (worker.ts) or, when a warm compiler snapshot exists for the
// project, in a process started from that snapshot (snapshot.cts), over a channel.
import { createRequire } from "node:module";
import type * as TS from "@tslab/typescript-for-tslab";
import net from "node:net";
import { onMessages, sendMessage } from "./channel.js";
import type { CompilerRequest, CompilerResponse, Converted } from "./compiler.js";
import type { IsCompleteReply } from "../../protocol/messages.js";
import { declaredNames, fixShorthands, hasShorthandProperty } from "./shorthand.js";
import { rewriteAwaits } from "./await-yield.js";
import { oneProgramPerCell, type CellPrograms } from "./one-program-per-cell.js";
import { cellSourceMaps, type SourceMapping } from "./cell-source-maps.js";
import { withDeclarationCache, type CachedDeclaration, type DeclarationCache } from "./declaration-cache.js";
import { withLightBuilder } from "./light-builder.js";
import { withCombinedTimers } from "./watch-timers.js";
import { withCommonJsInEmit } from "./commonjs-in-emit.js";
import { withUnchangedDeclarationsKept } from "./unchanged-declarations.js";
import { withLazyDocComments } from "./lazy-doc-comments.js";
import { withDeferredRecursiveWatches } from "./deferred-watches.js";
import { collectWhenIdle } from "./idle-collection.js";
import { requireTypeScript } from "./typescript-code-cache.js";

/** How the service talks to the kernel: a worker's parentPort, or the channel of a compiler process. */
export interface CompilerPort {
  postMessage(message: CompilerResponse): void;
  onMessage(listener: (request: CompilerRequest) => void): void;
  close(): void;
}

type ConverterModule = typeof import("tslab/dist/converter.js");

/** Serves the kernels of a shared compiler service (shared-service.ts), on the socket its environment names. */
export async function serveShared(snapshotFiles: Map<string, CachedDeclaration>): Promise<void> {
  // Its sessions share declaration files: the snapshot's, and those it does not hold, parsed once.
  shareDeclarationFiles(snapshotFiles);
  await (await import("./shared-service.js")).listen();
}

/** Serves the kernel at the other end of the socket on `fd` (channel.ts), until it closes; with a snapshot's parsed declaration files. */
export function serveOnChannel(fd: number, snapshotFiles?: Map<string, CachedDeclaration>): void {
  if (snapshotFiles) shareDeclarationFiles(snapshotFiles);
  const channel = new net.Socket({ fd, readable: true, writable: true });
  channel.on("close", () => process.exit(0));
  channel.on("error", () => process.exit(0));
  // stdout is not kept (see process.ts): TypeScript's rare messages go to stderr.
  console.log = console.error;
  serveCompiler({
    postMessage: (m) => {
      sendMessage(channel, m);
      collectWhenIdle();
    },
    onMessage: (listener) => onMessages(channel, (m) => listener(m as CompilerRequest)),
    close: () => process.exit(0),
  });
}

/** TypeScript and tslab's converter module, loaded once per process (every session's converter comes from them). */
interface Loaded {
  mod: ConverterModule;
  ts: typeof import("@tslab/typescript-for-tslab");
  cells: CellPrograms;
  mapping: SourceMapping;
}
let loaded: Loaded | undefined;

/** TypeScript loaded with the build's code cache of it; a cache that cannot be used is said once, on stderr (the process's log). */
function loadTypeScript(tsPath: string): unknown {
  const { ts, codeCache } = requireTypeScript(tsPath);
  if (codeCache === "refused by V8" || codeCache === "damaged") {
    console.error(
      `compiler: the build's code cache of TypeScript is ${codeCache === "damaged" ? "damaged" : "refused by V8 (built by another Node?)"}; compiled without it`,
    );
  }
  return ts;
}
/** Set by a shared service started without a snapshot: its converters share parsed declaration files. */
let shareDeclarations: Map<string, CachedDeclaration> | undefined;
let declarationCache: DeclarationCache | undefined;

/** `parsed`: declaration files already parsed (a snapshot's), by file name. */
export function shareDeclarationFiles(parsed: Map<string, CachedDeclaration> = new Map()): void {
  shareDeclarations = parsed;
}

function load(): Loaded {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const converterPath = require.resolve("tslab/dist/converter.js");
  // The TypeScript fork tslab loads (resolved from tslab's folder; from a compiler
  // snapshot, already loaded), handed to tslab writing source maps, with one program
  // build per cell.
  const tsPath = createRequire(converterPath).resolve("@tslab/typescript-for-tslab");
  const ts = (require.cache[tsPath]?.exports ?? loadTypeScript(tsPath)) as Loaded["ts"];
  // Innermost first: declaration files' documentation comments parsed when first asked for,
  // earlier cells' declarations parsed again only when they changed, the first converter's
  // recursive directory watches set up a second late, the watch program's timers folded into
  // tslab's one, plain programs instead of builder state, then (in
  // a shared service) shared declaration files, then CommonJS written by the program's emit,
  // then source maps, then one program per cell.
  const light = withLightBuilder(withCombinedTimers(withDeferredRecursiveWatches(withUnchangedDeclarationsKept(withLazyDocComments(ts)))));
  if (shareDeclarations) declarationCache = withDeclarationCache(light, shareDeclarations);
  const mapping = cellSourceMaps(withCommonJsInEmit(declarationCache?.ts ?? light));
  const cells = oneProgramPerCell(mapping.ts);
  require.cache[tsPath]!.exports = cells.ts;
  loaded = { ts, mapping, cells, mod: require(converterPath) };
  return loaded;
}

/**
 * A converter for a notebook in `cwd` (tslab takes the folder from TypeScript's `sys` when
 * it creates one: a shared service creates converters for kernels in several folders).
 */
function createConverterIn({ mod, ts }: Loaded, cwd: string | undefined): ReturnType<ConverterModule["createConverter"]> {
  if (cwd === undefined) return mod.createConverter({ isJS: false, isBrowser: false });
  const own = Object.getOwnPropertyDescriptor(ts.sys, "getCurrentDirectory");
  ts.sys.getCurrentDirectory = () => cwd;
  try {
    return mod.createConverter({ isJS: false, isBrowser: false });
  } finally {
    if (own) Object.defineProperty(ts.sys, "getCurrentDirectory", own);
    else delete (ts.sys as Partial<typeof ts.sys>).getCurrentDirectory;
  }
}

/**
 * Creates a converter (the slow part) for `cwd` (default: this process's), says `ready` (or
 * `failed`), then serves requests. Each call is a session of its own: its converter, and
 * its names of earlier cells' declarations.
 */
export type Converter = ReturnType<ConverterModule["createConverter"]>;

/** A converter made ahead of the session that will use it (a shared service keeps one spare per folder). */
export function createConverterFor(cwd: string): Converter {
  return createConverterIn(load(), cwd);
}

/** Whether a declaration file a converter of this process parsed has changed since `since` (ms): a spare made before is stale. */
export function declarationsChangedSince(since: number): boolean {
  return declarationCache?.changedSince(since) ?? false;
}

export function serveCompiler(port: CompilerPort, cwd?: string, spare?: Converter): void {
  let mod: ConverterModule;
  let conv: ReturnType<ConverterModule["createConverter"]>;
  let ts: typeof import("@tslab/typescript-for-tslab");
  let cells: CellPrograms;
  let mapping: SourceMapping;
  /** Names declared by earlier cells, for the last declarations text seen. */
  let names = { decls: "", set: new Set<string>() };
  try {
    const l = load();
    ({ mod, ts, cells, mapping } = l);
    conv = spare ?? createConverterIn(l, cwd);
    port.postMessage({ ready: true });
  } catch (e) {
    port.postMessage({ failed: String((e as Error).stack ?? e) });
  }

  /** tslab's isCompleteCode, plus "invalid": a syntax error that more input cannot fix. */
  const isComplete = (src: string): IsCompleteReply => {
    const r = mod.isCompleteCode(src);
    if (!r.completed) return { status: "incomplete", indent: r.indent ?? "" };
    if (/(^|\n)\s*\n\s*$/.test(src)) return { status: "complete" };
    const sf = ts.createSourceFile("cell.ts", src, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
    const diags = (sf as unknown as { parseDiagnostics?: { start: number; messageText: unknown }[] }).parseDiagnostics ?? [];
    if (diags.length === 0) return { status: "complete" };
    const atEnd = diags.every((d) => d.start >= src.trimEnd().length);
    return atEnd ? { status: "incomplete", indent: "" } : { status: "invalid" };
  };

  port.onMessage((req) => {
    if (req.op === "open" || req.op === "prepare") return; // a shared service's, on its own (shared-service.ts)
    if (req.op === "close") {
      conv?.close();
      port.close();
      return;
    }
    let res: CompilerResponse;
    try {
      switch (req.op) {
        case "convert": {
          let cell: TS.SourceFile | undefined;
          const {
            result: r,
            maps,
            moduleMaps,
          } = mapping.capturing(() => cells.converting(req.src, (parsed) => ((cell = parsed), conv.convert(req.prevDecl, req.src))));
          if (r.output && cell && hasShorthandProperty(ts, cell)) {
            r.output = fixShorthands(ts, r.output, () => {
              if (names.decls !== req.prevDecl) names = { decls: req.prevDecl, set: declaredNames(ts, req.prevDecl) };
              return names.set;
            });
          }
          const result: Converted = {
            ...r,
            diagnostics: r.diagnostics.map((d) => ({ ...d })),
            ...(r.output && maps ? { sourceMaps: maps } : {}),
            ...(r.sideOutputs?.length ? { moduleSourceMaps: moduleMaps } : {}),
          };
          const how = r.output ? rewriteAwaits(ts, r.output) : { kind: "none" as const };
          if (how.kind === "yield") Object.assign(result, { output: how.output, yieldAwaits: true });
          else if (how.kind === "async") result.hasToplevelAwait = true;
          res = { id: req.id, result };
          break;
        }
        case "complete": {
          const { start, end, candidates } = conv.complete(req.prevDecl, req.src, req.pos);
          res = { id: req.id, result: { start, end, candidates } };
          break;
        }
        case "inspect": {
          const info = conv.inspect(req.prevDecl, req.src, req.pos);
          res = {
            id: req.id,
            result: info
              ? {
                  display: (info.displayParts ?? []).map((p) => p.text).join(""),
                  documentation: (info.documentation ?? []).map((p) => p.text).join(""),
                  tags: (info.tags ?? []).map((t) => `@${t.name} ${(t.text ?? []).map((p) => p.text).join("")}`),
                }
              : undefined,
          };
          break;
        }
        case "isComplete":
          res = { id: req.id, result: isComplete(req.src) };
          break;
      }
    } catch (e) {
      res = { id: req.id, error: String((e as Error).stack ?? e) };
    }
    port.postMessage(res);
  });
}
