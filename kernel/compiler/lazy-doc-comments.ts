// Documentation comments of declaration files parsed later, off the first cell's path.
//
// TypeScript parses every `/** ... */` comment of every declaration file a program loads:
// ~4,800 in @types/node and the es2022 lib, a third of their parse and ~0.15 s of a compiler
// that starts with no snapshot. Type-checking a TypeScript cell never reads them: only
// inspection shows them. So declaration files are parsed with each documentation comment
// made a plain comment of the same length (`/**` -> `/* `: positions unchanged), and the
// comments are parsed, and attached to the nodes they document (the whole file, as TypeScript
// would have parsed it), while the compiler is idle or at the first inspection, whichever comes
// first. (JSDoc gives types only in JavaScript files, never stripped.) A comment that marks a declaration
// `@deprecated` is left as it is: the parser flags the declaration from it, and completions
// order by that flag. A snapshot's files (snapshot.cts) are parsed whole and never pass here.
import type * as TS from "@tslab/typescript-for-tslab";
import { DECLARATIONS_FILE } from "./tslab-files.js";
import { withOverrides } from "./typescript-overrides.js";

type TypeScript = typeof import("@tslab/typescript-for-tslab");
type GetQuickInfo = (sourceFile: TS.SourceFile, checker: TS.TypeChecker, ...rest: unknown[]) => unknown;
type WithDocs = TS.Node & { jsDoc?: TS.Node[]; jsDocCache?: unknown };

const SLASH = 0x2f;
const STAR = 0x2a;
const BACKSLASH = 0x5c;
const QUOTE = 0x27;
const DOUBLE_QUOTE = 0x22;
const BACKTICK = 0x60;
const OPEN_BRACE = 0x7b;
/** Where the scan has something to do: in code, in code within a template's `${}`, in strings and template text. */
const IN_CODE = /[/'"`]/g;
const IN_SUBSTITUTION = /[/'"`{}]/g;
const IN_SINGLE_QUOTED = /['\\\n]/g;
const IN_DOUBLE_QUOTED = /["\\\n]/g;
const IN_TEMPLATE = /[`\\$]/g;

/**
 * `text` (a declaration file) with each documentation comment but `@deprecated` ones made a
 * plain comment (`/**` -> `/* `), found as TypeScript's scanner finds them: outside strings,
 * template literals and other comments, `/**` not followed by `/`. (A declaration file holds no
 * regular expression or division, the only other places a `/` starts.)
 */
export function withoutDocComments(text: string): string {
  const plain: number[] = [];
  /** Per `${` of the template literals the scan is inside: the braces opened since. */
  const substitutions: number[] = [];
  const n = text.length;
  let i = 0;
  /** The next position at or after `i` where `pattern` matches, or the end. */
  const next = (pattern: RegExp) => {
    pattern.lastIndex = i;
    return pattern.test(text) ? pattern.lastIndex - 1 : n;
  };
  /** Scans template literal text from `i` (just after "`" or a substitution's `}`) to its end or next `${`. */
  const template = () => {
    while ((i = next(IN_TEMPLATE)) < n) {
      const c = text.charCodeAt(i);
      if (c === BACKSLASH) i += 2;
      else if (c === BACKTICK) return void i++;
      else if (text.charCodeAt(i + 1) === OPEN_BRACE) {
        substitutions.push(0);
        i += 2;
        return;
      } else i++;
    }
  };
  while ((i = next(substitutions.length > 0 ? IN_SUBSTITUTION : IN_CODE)) < n) {
    const c = text.charCodeAt(i);
    if (c === SLASH) {
      const after = text.charCodeAt(i + 1);
      if (after === SLASH) {
        const end = text.indexOf("\n", i + 2);
        i = end < 0 ? n : end + 1;
      } else if (after === STAR) {
        const close = text.indexOf("*/", i + 2);
        const end = close < 0 ? n : close + 2;
        if (text.charCodeAt(i + 2) === STAR && text.charCodeAt(i + 3) !== SLASH) {
          if (!text.slice(i, end).includes("@deprecated")) plain.push(i + 2);
        }
        i = end;
      } else i++;
    } else if (c === QUOTE || c === DOUBLE_QUOTE) {
      const inString = c === QUOTE ? IN_SINGLE_QUOTED : IN_DOUBLE_QUOTED;
      i++;
      while ((i = next(inString)) < n && text.charCodeAt(i) === BACKSLASH) i += 2;
      i++;
    } else if (c === BACKTICK) {
      i++;
      template();
    } else if (c === OPEN_BRACE) {
      substitutions[substitutions.length - 1]!++;
      i++;
    } else {
      // a closing brace inside a substitution
      i++;
      if (substitutions[substitutions.length - 1]! > 0) substitutions[substitutions.length - 1]!--;
      else {
        substitutions.pop();
        template();
      }
    }
  }
  if (plain.length === 0) return text;
  const parts: string[] = [];
  let from = 0;
  for (const at of plain) {
    parts.push(text.slice(from, at), " ");
    from = at + 1;
  }
  parts.push(text.slice(from));
  return parts.join("");
}

/** How long after its last program the compiler counts as idle, and the pause between two files then. */
const IDLE_MS = 500;
const BETWEEN_FILES_MS = 5;

/**
 * `ts` whose watch programs parse declaration files without their documentation comments, and
 * whose inspections first give every such file the comments it was parsed without (as the
 * compiler's idle time does, a file at a time). `hooks.allAttached`: told when no file waits.
 */
export function withLazyDocComments(ts: TypeScript, hooks: { allAttached?: () => void } = {}): TypeScript {
  /** The text each stripped file was read with, by file name, until its parsed file gets its comments. */
  const originals = new Map<string, string>();
  /** Parsed files still without their documentation comments. */
  const waiting = new Set<TS.SourceFile>();

  /** Each node of `live` gets the documentation comments of its twin in `whole` (the same text parsed whole). */
  const attach = (live: WithDocs, whole: WithDocs): boolean => {
    if (live.kind !== whole.kind || live.pos !== whole.pos || live.end !== whole.end) return false;
    if (whole.jsDoc) {
      live.jsDoc = whole.jsDoc;
      for (const doc of whole.jsDoc) (doc as { parent: TS.Node }).parent = live;
      live.jsDocCache = undefined;
    }
    const liveChildren: TS.Node[] = [];
    const wholeChildren: TS.Node[] = [];
    ts.forEachChild(live, (child) => void liveChildren.push(child));
    ts.forEachChild(whole, (child) => void wholeChildren.push(child));
    if (liveChildren.length !== wholeChildren.length) return false;
    return liveChildren.every((child, k) => attach(child, wholeChildren[k]!));
  };

  /** Gives `sourceFile` the comments it was parsed without. */
  const giveCommentsTo = (sourceFile: TS.SourceFile) => {
    waiting.delete(sourceFile);
    const text = originals.get(sourceFile.fileName);
    if (text === undefined || text.length !== sourceFile.text.length) return;
    originals.delete(sourceFile.fileName);
    const whole = ts.createSourceFile(
      sourceFile.fileName,
      text,
      { languageVersion: sourceFile.languageVersion, impliedNodeFormat: sourceFile.impliedNodeFormat },
      true, // the comments' own nodes need their parents (display walks up to the file)
      (sourceFile as { scriptKind?: TS.ScriptKind }).scriptKind,
    );
    // The same text but for comments parses to the same tree; should it not, the file keeps no comments.
    if (attach(sourceFile, whole)) (sourceFile as { text: string }).text = text;
  };
  const giveComments = () => {
    for (const sourceFile of waiting) giveCommentsTo(sourceFile);
    settled();
  };

  // Meanwhile, while the compiler is idle: a file at a time (the largest take ~40 ms), so that a
  // request that comes waits little, and the first inspection seldom waits for them all (~0.5 s).
  let idle: NodeJS.Timeout | undefined;
  const settled = () => {
    if (waiting.size > 0) return;
    clearTimeout(idle);
    if (originals.size === 0) hooks.allAttached?.();
  };
  const whileIdle = () => {
    const [next] = waiting;
    if (next) giveCommentsTo(next);
    if (waiting.size > 0) idle = setTimeout(whileIdle, BETWEEN_FILES_MS).unref();
    else settled();
  };
  /** Moves the idle work `IDLE_MS` after the compiler's last program. */
  const busy = () => {
    clearTimeout(idle);
    if (waiting.size > 0) idle = setTimeout(whileIdle, IDLE_MS).unref();
  };

  const createWatchCompilerHost = (...args: unknown[]) => {
    const system = args[2] as TS.System;
    const reading = Object.create(system) as TS.System;
    reading.readFile = (file, encoding) => {
      const text = system.readFile(file, encoding);
      if (text === undefined || !file.endsWith(".d.ts") || DECLARATIONS_FILE.test(file)) return text;
      const stripped = withoutDocComments(text);
      if (stripped !== text) originals.set(file, text);
      return stripped;
    };
    args[2] = reading;
    const host = (ts.createWatchCompilerHost as (...a: unknown[]) => TS.WatchCompilerHost<TS.BuilderProgram>)(...args);
    const createProgram = host.createProgram;
    host.createProgram = (...programArgs) => {
      const built = createProgram(...programArgs);
      if (originals.size > 0) {
        for (const sourceFile of built.getProgram().getSourceFiles()) {
          if (originals.has(sourceFile.fileName) && sourceFile.text !== originals.get(sourceFile.fileName)) waiting.add(sourceFile);
        }
      }
      busy();
      return built;
    };
    return host;
  };
  const quickInfo = (ts as unknown as { getQuickInfoAtPosition: GetQuickInfo }).getQuickInfoAtPosition;
  const getQuickInfoAtPosition: GetQuickInfo = (...args) => {
    giveComments();
    return quickInfo(...args);
  };
  return withOverrides(ts, { createWatchCompilerHost, getQuickInfoAtPosition } as Partial<Record<keyof TypeScript, unknown>>);
}
