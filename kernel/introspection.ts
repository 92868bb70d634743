// Introspection requests: complete_request, inspect_request and is_complete_request.
// Extensions answer first (a magic completes its own name); otherwise the compiler
// answers for TypeScript: for the cell's TypeScript only when an extension says where
// that starts (a magic cell's body), so the magic lines above it do not confuse it. The
// protocol counts cursor positions in Unicode code points, TypeScript in UTF-16 units:
// the conversion happens here, both ways.
import type {
  CompleteReply,
  CompleteRequest,
  InspectReply,
  InspectRequest,
  IsCompleteReply,
  IsCompleteRequest,
} from "../protocol/messages.js";
import type { KernelExtension } from "./extensions.js";
import type { Executor } from "./executor.js";
import type { Compiler } from "./compiler/index.js";
import { fromCodePoints, toCodePoints } from "./unicode.js";

export class Introspection {
  constructor(
    private readonly extensions: readonly KernelExtension[],
    private readonly executor: Executor,
    private readonly compiler: Compiler,
  ) {}

  async complete(c: CompleteRequest): Promise<CompleteReply> {
    const { code, pos } = codeAndCursor(c);
    for (const ext of this.extensions) {
      const r = ext.complete?.(code, pos);
      if (r) return completeReply(code, r.matches, r.cursorStart, r.cursorEnd);
    }
    const from = this.typescriptStart(code);
    // In the magic lines themselves, and no extension knew an answer: nothing to offer.
    if (pos < from) return completeReply(code, [], pos, pos);
    const r = await this.executor.complete(code.slice(from), pos - from);
    return completeReply(code, r.candidates, r.start + from, r.end + from);
  }

  async inspect(c: InspectRequest): Promise<InspectReply> {
    const { code, pos } = codeAndCursor(c);
    for (const ext of this.extensions) {
      const data = ext.inspect?.(code, pos);
      if (data) return { status: "ok", found: true, data, metadata: {} };
    }
    const from = this.typescriptStart(code);
    const ts = code.slice(from);
    const at = pos - from;
    // A cursor just after a name (where frontends put it) has no quick info of its own.
    const info =
      at < 0 ? undefined : ((await this.executor.inspect(ts, at)) ?? (at > 0 ? await this.executor.inspect(ts, at - 1) : undefined));
    if (!info || !info.display) return { status: "ok", found: false, data: {}, metadata: {} };
    const text = [info.display, info.documentation, ...info.tags].filter(Boolean).join("\n\n");
    const markdown = "```typescript\n" + info.display + "\n```" + (info.documentation ? "\n\n" + info.documentation : "");
    return { status: "ok", found: true, data: { "text/plain": text, "text/markdown": markdown }, metadata: {} };
  }

  async isComplete(c: IsCompleteRequest): Promise<IsCompleteReply> {
    for (const ext of this.extensions) {
      const r = ext.isComplete?.(c.code);
      if (r) return r;
    }
    const from = this.typescriptStart(c.code);
    if (from > 0) {
      // A magic cell's body (or the code under line magics) is checked as a plain cell is.
      const ts = c.code.slice(from);
      return ts.trim() === "" ? { status: "complete" } : this.compiler.isComplete(ts);
    }
    // A magic line no extension reads is whole as typed: TypeScript would only call it invalid.
    if (/^\s*%/.test(c.code)) return { status: "complete" };
    return this.compiler.isComplete(c.code);
  }

  /** Where the cell's TypeScript begins (UTF-16 index): after its magic lines, as an extension reads them. */
  private typescriptStart(code: string): number {
    for (const ext of this.extensions) {
      const from = ext.typescriptStart?.(code);
      if (from !== undefined && Number.isInteger(from) && from >= 0 && from <= code.length) return from;
    }
    return 0;
  }
}

/** The request's code and its cursor as a UTF-16 index (absent cursor: the end of the code). */
function codeAndCursor(c: { code: string; cursor_pos?: number }): { code: string; pos: number } {
  return { code: c.code, pos: fromCodePoints(c.code, c.cursor_pos ?? [...c.code].length) };
}

function completeReply(code: string, matches: string[], start: number, end: number): CompleteReply {
  return { status: "ok", matches, cursor_start: toCodePoints(code, start), cursor_end: toCodePoints(code, end), metadata: {} };
}
